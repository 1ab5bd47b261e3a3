// JPEG and PNG decoding through the system libjpeg(-turbo) and libpng. Both libraries report
// fatal errors by longjmp, which Swift cannot catch, so the jumps end here and come back as
// a status and a message.
#ifndef IMAGE_CODECS_H
#define IMAGE_CODECS_H

#include <stddef.h>

#define IC_OK 0
#define IC_ERROR 1
#define IC_TOO_LARGE 2

typedef struct {
    int width;
    int height;
    unsigned char *rgb;  // width × height × 3 bytes, rows top to bottom; free with ic_free
    char message[256];
} ic_image;

// Decodes to 8-bit RGB as Pillow's open(...).convert("RGB") does: grey is replicated, alpha
// dropped (not composited), palettes expanded, 16-bit samples keep their high byte, Adobe
// CMYK converted. Images of more than max_pixels pixels are refused before decoding.
int ic_decode_jpeg(const unsigned char *data, size_t size, long long max_pixels, ic_image *out);
int ic_decode_png(const unsigned char *data, size_t size, long long max_pixels, ic_image *out);
void ic_free(ic_image *image);

#endif
