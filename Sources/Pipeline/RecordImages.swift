import Foundation
import Imaging
import PRM

/// The images a data file's records name, found and checked before a policy spends time on
/// them: a path that is missing or does not decode is a `DataError` naming file, record and field.
public enum RecordImages {
    /// Where each record's image is (nil: none), every one decoded once when `decode`.
    public static func locate(_ paths: [String?], inDataFile file: String, decode: Bool) throws -> [URL?] {
        var checked: Set<URL> = []
        return try paths.enumerated().map { record, path in
            guard let path else { return nil }
            let url = PromptImages.location(of: path, inDataFile: file)
            if decode, checked.insert(url).inserted {
                _ = try PromptImages.reading(file: file, record: record, field: "image_path") { try ImageFile.read(url) }
            }
            return url
        }
    }
}
