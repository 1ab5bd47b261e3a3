import CImageCodecs
import Foundation

/// An image that cannot be used, with the file it came from.
public struct ImageError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

/// Reads JPEG and PNG files as the Hugging Face processors receive them: decoded by the system
/// libjpeg-turbo and libpng to 8-bit RGB as Pillow's `convert("RGB")` gives, then turned as the
/// EXIF orientation says (`ImageOps.exif_transpose`).
public enum ImageFile {
    /// Where Pillow refuses an image as a decompression bomb (twice `Image.MAX_IMAGE_PIXELS`).
    public static let defaultMaxPixels = 178_956_970

    public static func read(_ url: URL, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            let missing = !FileManager.default.fileExists(atPath: url.path)
            throw ImageError(file: url.path, message: missing ? "no such image file" : "cannot be read: \(error.localizedDescription)")
        }
        return try decode(data, file: url.path, maxPixels: maxPixels)
    }

    /// `file` names the image in errors.
    public static func decode(_ data: Data, file: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let bytes = [UInt8](data)
        let isJPEG = bytes.starts(with: [0xFF, 0xD8, 0xFF])
        guard isJPEG || bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw ImageError(file: file, message: bytes.isEmpty ? "is empty" : "is neither a JPEG nor a PNG file")
        }
        var image = ic_image()
        let status = bytes.withUnsafeBufferPointer { buffer in
            isJPEG ? ic_decode_jpeg(buffer.baseAddress, buffer.count, Int64(maxPixels), &image)
                   : ic_decode_png(buffer.baseAddress, buffer.count, Int64(maxPixels), &image)
        }
        defer { ic_free(&image) }
        let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch status {
        case IC_OK: break
        case IC_TOO_LARGE: throw ImageError(file: file, message: "is too large: \(message)")
        default: throw ImageError(file: file, message: "is not a readable \(isJPEG ? "JPEG" : "PNG"): \(message)")
        }
        let (width, height) = (Int(image.width), Int(image.height))
        let pixels = [UInt8](UnsafeBufferPointer(start: image.rgb, count: width * height * 3))
        let decoded = RGBImage(width: width, height: height, pixels: pixels)
        return decoded.oriented((isJPEG ? ExifOrientation.jpeg(bytes) : ExifOrientation.png(bytes)) ?? 1)
    }
}
