#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void ic_free(ic_image *image) {
    free(image->rgb);
    image->rgb = NULL;
}

static int too_large(ic_image *out, long long max_pixels) {
    long long pixels = (long long)out->width * out->height;
    if (pixels <= max_pixels) return 0;
    snprintf(out->message, sizeof out->message, "%d x %d = %lld pixels, more than the limit of %lld",
             out->width, out->height, pixels, max_pixels);
    return 1;
}

// ---- JPEG ----------------------------------------------------------------------------------

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
} jpeg_failure;

static void jpeg_fail(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    snprintf(failure->message, 256, "%s", text);
    longjmp(failure->jump, 1);
}

// A truncated file is an error (libjpeg would pad it with grey); other warnings, such as
// stray bytes between markers, are not, as in Pillow.
static void jpeg_warn(j_common_ptr info, int level) {
    if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) jpeg_fail(info);
}

// Pillow's CMYK to RGB: each channel is (255 − c)(255 − k) / 255, rounded as its MULDIV255.
static unsigned char cmyk_channel(int c, int k) {
    int t = (255 - c) * (255 - k) + 128;
    return (unsigned char)(((t >> 8) + t) >> 8);
}

int ic_decode_jpeg(const unsigned char *data, size_t size, long long max_pixels, ic_image *out) {
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    unsigned char *volatile row = NULL;
    memset(out, 0, sizeof *out);
    info.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = jpeg_fail;
    failure.base.emit_message = jpeg_warn;
    failure.message = out->message;
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&info);
        free(row);
        ic_free(out);
        return IC_ERROR;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    out->width = (int)info.image_width;
    out->height = (int)info.image_height;
    if (too_large(out, max_pixels)) {
        jpeg_destroy_decompress(&info);
        return IC_TOO_LARGE;
    }
    int cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
    // Adobe's CMYK JPEGs store inverted samples (Pillow reads them as "CMYK;I").
    int inverted = cmyk && info.saw_Adobe_marker;
    info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t width = info.output_width;
    out->rgb = malloc(width * info.output_height * 3);
    row = malloc(width * info.output_components);
    if (!out->rgb || !row) {
        snprintf(out->message, sizeof out->message, "out of memory");
        longjmp(failure.jump, 1);
    }
    while (info.output_scanline < info.output_height) {
        unsigned char *target = out->rgb + (size_t)info.output_scanline * width * 3;
        JSAMPROW rows[1] = {cmyk ? row : target};
        jpeg_read_scanlines(&info, rows, 1);
        if (!cmyk) continue;
        for (size_t x = 0; x < width; x++) {
            int s[4];
            for (int i = 0; i < 4; i++) s[i] = inverted ? 255 - row[4 * x + i] : row[4 * x + i];
            for (int i = 0; i < 3; i++) target[3 * x + i] = cmyk_channel(s[i], s[3]);
        }
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    free(row);
    return IC_OK;
}

// ---- PNG -----------------------------------------------------------------------------------

typedef struct {
    const unsigned char *data;
    size_t size, offset;
    char *message;
} png_source;

static void png_fail(png_structp png, png_const_charp text) {
    png_source *source = png_get_error_ptr(png);
    snprintf(source->message, 256, "%s", text);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp text) { (void)png, (void)text; }

static void png_read_memory(png_structp png, png_bytep target, png_size_t length) {
    png_source *source = png_get_io_ptr(png);
    if (length > source->size - source->offset) png_error(png, "the file ends before the image does (truncated)");
    memcpy(target, source->data + source->offset, length);
    source->offset += length;
}

int ic_decode_png(const unsigned char *data, size_t size, long long max_pixels, ic_image *out) {
    memset(out, 0, sizeof *out);
    png_source source = {data, size, 0, out->message};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL;
    unsigned char *volatile samples = NULL;
    if (!info) {
        snprintf(out->message, sizeof out->message, "out of memory");
        png_destroy_read_struct(&png, NULL, NULL);
        return IC_ERROR;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(samples);
        ic_free(out);
        return IC_ERROR;
    }
    png_set_read_fn(png, &source, png_read_memory);
    // Pillow reads images of any size; libpng's default limit of a million pixels a side is
    // what max_pixels is for.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    out->width = (int)png_get_image_width(png, info);
    out->height = (int)png_get_image_height(png, info);
    if (too_large(out, max_pixels)) {
        png_destroy_read_struct(&png, &info, NULL);
        return IC_TOO_LARGE;
    }
    int colour = png_get_color_type(png, info);
    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colour == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t channels = png_get_channels(png, info), width = (size_t)out->width, height = (size_t)out->height;
    size_t stride = png_get_rowbytes(png, info);
    samples = malloc(stride * height);
    rows = malloc(sizeof(png_bytep) * height);
    out->rgb = malloc(width * height * 3);
    if (!samples || !rows || !out->rgb) png_error(png, "out of memory");
    for (size_t y = 0; y < height; y++) rows[y] = samples + y * stride;
    // No png_read_end: what follows the image (text, IEND) is not needed, and Pillow does not
    // read it either.
    png_read_image(png, rows);
    // Grey is replicated and alpha dropped, as Pillow's convert("RGB").
    for (size_t y = 0; y < height; y++) {
        for (size_t x = 0; x < width; x++) {
            const unsigned char *s = rows[y] + x * channels;
            unsigned char *t = out->rgb + (y * width + x) * 3;
            if (channels >= 3) { t[0] = s[0]; t[1] = s[1]; t[2] = s[2]; }
            else { t[0] = t[1] = t[2] = s[0]; }
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    free(samples);
    return IC_OK;
}
