import Foundation
import TestSupport
import XCTest

/// Multimodal PRMs through the binary on the tiny random Qwen2-VL (v1 scalar head, domain
/// weights) and InternVL (1.5 generative PRM, instance weights) saved by transformers, with
/// real image files named relative to the data files: training runs, evaluation reads the
/// images (a question's scores change with its image), and a bad image is exit 2 naming the
/// image, the data file and the record, with nothing written.
final class VisionTrainingTests: XCTestCase {
    private let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ModelsTests/Fixtures").standardized
    private let pictures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ImagingTests/Fixtures").standardized
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("vision-\(UUID().uuidString)")
        let images = root.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for (from, to) in [(models.appendingPathComponent("tiny-qwen2-vl/a.jpg"), "a.jpg"), (models.appendingPathComponent("tiny-qwen2-vl/b.png"), "b.png"),
                           (pictures.appendingPathComponent("rgb.png"), "c.png")] + ["corrupt.png", "truncated.jpg", "huge.png"].map({ (pictures.appendingPathComponent($0), $0) }) {
            try FileManager.default.copyItem(at: from, to: images.appendingPathComponent(to))
        }
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func write(_ name: String, _ text: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// v1 records: four step prefixes in two domains, each with an image; two meta chains.
    private func v1Data(trainImage: String = "images/a.jpg") throws -> (train: URL, meta: URL) {
        let train = try write("train.jsonl", [
            #"{"input": "What colour is the square?", "add": "Step 1: The square is red.", "dataset": "geo", "accuracy": 1, "image_path": "\#(trainImage)"}"#,
            #"{"input": "What colour is the square?", "add": "Step 1: The square is blue.", "dataset": "geo", "accuracy": 0, "image_path": "images/a.jpg"}"#,
            #"{"input": "How many bars are there?", "add": "Step 1: There are 3 bars.", "dataset": "chart", "accuracy": 0.75, "image_path": "images/b.png"}"#,
            #"{"input": "How many bars are there?", "add": "Step 1: There are 9 bars.", "dataset": "chart", "accuracy": 0.25, "image_path": "images/b.png"}"#,
        ].joined(separator: "\n"))
        let meta = try write("meta.jsonl", [
            #"{"true_false": true, "input": "What is shown?\n\nStep 1: A red square.\n\nFinal answer: red", "image_path": "images/c.png"}"#,
            #"{"true_false": false, "input": "What is shown?\n\nStep 1: A blue circle.\n\nFinal answer: blue", "image_path": "images/a.jpg"}"#,
        ].joined(separator: "\n"))
        return (train, meta)
    }

    /// One best-of-N question asked of two images: a PRM that reads images scores them differently.
    private func testFile() throws -> URL {
        let question = #""question": "What colour is it?", "candidates": ["Step 1: It is red.\n\nFinal answer: red", "Step 1: It is green.\n\nFinal answer: green"], "true_false": [true, false]"#
        return try write("test.jsonl", ["{\(question), \"image_path\": \"images/a.jpg\"}", "{\(question), \"image_path\": \"images/c.png\"}"].joined(separator: "\n"))
    }

    private func train(_ arguments: [String], model: String, output: URL, iterations: Int = 4) throws -> Binary.Result {
        try Binary.run(["train", "--reward_model", models.appendingPathComponent(model).path, "--weights_path", output.path,
                        "--iteration_num", "\(iterations)", "--batch_size", "2", "--meta_batch_size", "2", "--save_every_iterations", "2",
                        "--seed", "3", "--threads", "1"] + arguments)
    }

    /// The step scores evaluate wrote: question → candidate → steps.
    private func scores(_ dir: URL, _ name: String) throws -> [[[Double]]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("scores-\(name).json"))) as! [String: Any]
        return json["stepLogits"] as! [[[Double]]]
    }

    func testV1TrainAndEvaluateOnQwen2VLReadTheImages() throws {
        let (trainFile, meta) = try v1Data()
        let run = root.appendingPathComponent("v1")
        let trained = try train(["--train_json_file", trainFile.path, "--meta_json_file", meta.path], model: "tiny-qwen2-vl", output: run)
        XCTAssertEqual(trained.status, 0, trained.output)
        XCTAssertTrue(trained.output.contains("6 records with images, longest side ≤ 512 px"), trained.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("prm.safetensors").path))

        let out = root.appendingPathComponent("eval-v1")
        let evaluated = try Binary.run(["evaluate", "--test_json_file", testFile().path, "--prm", "v1=\(run.path)", "--output", out.path, "--threads", "1"])
        XCTAssertEqual(evaluated.status, 0, evaluated.output)
        let z = try scores(out, "v1")
        XCTAssertEqual(z.map { $0.map(\.count) }, [[1, 1], [1, 1]], "two questions of two one-step candidates")
        XCTAssertTrue(z.joined().joined().allSatisfy(\.isFinite))
        XCTAssertGreaterThan(abs(z[0][0][0] - z[1][0][0]), 1e-7, "the same chain on another image scores differently: \(z)")

        let chains = try write("chains.jsonl", #"{"id": 1, "question": "What colour is it?", "response": "Step 1: It is red.\n\nFinal answer: red", "image_path": "images/a.jpg"}"# + "\n"
                               + #"{"id": 2, "question": "What colour is it?", "response": "Step 1: It is red.\n\nFinal answer: red", "image_path": "images/c.png"}"#)
        let scored = root.appendingPathComponent("scored.jsonl")
        let score = try Binary.run(["score", "--prm", run.path, "--input", chains.path, "--output", scored.path, "--threads", "1"])
        XCTAssertEqual(score.status, 0, score.output)
        let lines = try String(contentsOf: scored, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let p = lines.map { ($0["step_scores"] as! [Double])[0] }
        XCTAssertEqual(p[0], 1 / (1 + exp(-z[0][0][0])), accuracy: 1e-6, "score and evaluate agree on image a")
        XCTAssertEqual(p[1], 1 / (1 + exp(-z[1][0][0])), accuracy: 1e-6, "score and evaluate agree on image c")
    }

    /// `--precision bf16`: the decoder and the frozen tower in bf16 (AdamW keeps fp32 masters).
    func testBFloat16RunTrainsWithImages() throws {
        let (trainFile, meta) = try v1Data()
        let run = root.appendingPathComponent("bf16")
        let trained = try train(["--train_json_file", trainFile.path, "--meta_json_file", meta.path, "--precision", "bf16"], model: "tiny-qwen2-vl", output: run)
        XCTAssertEqual(trained.status, 0, trained.output)
        let losses = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["lower_loss"] as! Double
        }
        XCTAssertEqual(losses.count, 4)
        XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(losses)")
    }

    func testGenerativeTrainAndEvaluateOnInternVLReadTheImages() throws {
        let system = "Judge each step with + or -."
        func conversation(_ id: String, _ image: String, _ step: String, _ label: String, trueFalse: Bool? = nil) throws -> String {
            var record: [String: Any] = ["id": id, "image": image, "conversations": [
                ["from": "system", "value": system], ["from": "human", "value": "### Question:\nWhat is shown?"],
                ["from": "human", "value": step], ["from": "gpt", "value": label]]]
            record["true_false"] = trueFalse
            return String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
        }
        let trainFile = try write("train15.jsonl", [try conversation("t0", "images/a.jpg", "A red square.", "+"), try conversation("t1", "images/a.jpg", "A blue circle.", "-"),
                                                    try conversation("t2", "images/b.png", "Three bars.", "+"), try conversation("t3", "images/c.png", "Nine bars.", "-")].joined(separator: "\n"))
        let meta = try write("meta15.jsonl", [try conversation("m0", "images/c.png", "A red square.", "+", trueFalse: true),
                                              try conversation("m1", "images/a.jpg", "A blue circle.", "+", trueFalse: false)].joined(separator: "\n"))
        let run = root.appendingPathComponent("g")
        let trained = try train(["--train_json_file", trainFile.path, "--meta_json_file", meta.path, "--reweighting", "instance-table", "--max_patch_num", "2"],
                                model: "tiny-internvl", output: run)
        XCTAssertEqual(trained.status, 0, trained.output)
        XCTAssertTrue(trained.output.contains("6 records with images, up to 2 tiles each"), trained.output)
        let badTrain = try write("bad-train15.jsonl", try String(contentsOf: trainFile, encoding: .utf8).replacingOccurrences(of: "b.png", with: "corrupt.png"))
        let bad = try train(["--train_json_file", badTrain.path, "--meta_json_file", meta.path, "--reweighting", "instance-table"],
                            model: "tiny-internvl", output: root.appendingPathComponent("g-bad"))
        XCTAssertEqual(bad.status, 2, bad.output)
        XCTAssertTrue(bad.output.contains("\(badTrain.path): record 2: field 'image': the image \(root.appendingPathComponent("images/corrupt.png").path)"), bad.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("g-bad").path))

        let out = root.appendingPathComponent("eval-g")
        let evaluated = try Binary.run(["evaluate", "--test_json_file", testFile().path, "--prm", "g=\(run.path)", "--output", out.path, "--threads", "1"])
        XCTAssertEqual(evaluated.status, 0, evaluated.output)
        let z = try scores(out, "g")
        XCTAssertTrue(z.joined().joined().allSatisfy(\.isFinite))
        XCTAssertGreaterThan(abs(z[0][0][0] - z[1][0][0]), 1e-7, "the same chain on another image scores differently: \(z)")
    }

    /// Corrupt, truncated, missing and oversized images: exit 2 naming the image, the data file
    /// and the record; a fresh run writes nothing, a resumed run's directory is unchanged.
    func testBadImagesExitTwoNamingFileAndRecordWithNothingWritten() throws {
        let (goodTrain, meta) = try v1Data()
        let run = root.appendingPathComponent("resumed")
        XCTAssertEqual(try train(["--train_json_file", goodTrain.path, "--meta_json_file", meta.path], model: "tiny-qwen2-vl", output: run, iterations: 2).status, 0)
        let before = try directoryDigest(run)
        for bad in ["images/corrupt.png", "images/truncated.jpg", "images/huge.png", "images/no_such.png"] {
            let (trainFile, _) = try v1Data(trainImage: bad)
            let image = root.appendingPathComponent(bad).path
            let fresh = root.appendingPathComponent("fresh-\(UUID().uuidString)")
            let result = try train(["--train_json_file", trainFile.path, "--meta_json_file", meta.path], model: "tiny-qwen2-vl", output: fresh)
            XCTAssertEqual(result.status, 2, "\(bad): \(result.output)")
            XCTAssertTrue(result.output.contains("\(trainFile.path): record 0: field 'image_path': the image \(image)"), "\(bad): \(result.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path), "\(bad): a failed fresh run leaves no directory")
            let resumed = try train(["--train_json_file", trainFile.path, "--meta_json_file", meta.path, "--resume"], model: "tiny-qwen2-vl", output: run, iterations: 2)
            XCTAssertEqual(resumed.status, 2, "\(bad): \(resumed.output)")
            XCTAssertEqual(try directoryDigest(run), before, "\(bad): the run being resumed is untouched")
        }
        let test = try write("bad-test.jsonl", try String(contentsOf: testFile(), encoding: .utf8).replacingOccurrences(of: "images/c.png", with: "images/truncated.jpg"))
        let out = root.appendingPathComponent("eval-bad")
        let evaluated = try Binary.run(["evaluate", "--test_json_file", test.path, "--prm", "v1=\(run.path)", "--output", out.path, "--threads", "1"])
        XCTAssertEqual(evaluated.status, 2, evaluated.output)
        XCTAssertTrue(evaluated.output.contains("\(test.path): record 1: field 'image_path': the image \(root.appendingPathComponent("images/truncated.jpg").path)"), evaluated.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("scores-v1.json").path), "nothing scored before the images were checked")
    }
}
