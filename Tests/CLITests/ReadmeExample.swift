import Evaluation
import Foundation
import PRM
import Reweighting

/// Trains a DreamPRM on two v1 files, then scores one candidate chain step by step.
func trainAndScore(train: String, meta: String, output: String, backbone: String = "smollm2-135m-instruct") throws -> (steps: [Double], score: Double) {
    var settings = V1TrainingConfiguration()
    settings.trainFile = train
    settings.metaFile = meta
    settings.outputDirectory = output
    settings.rewardModel = backbone
    settings.iterations = 20
    settings.batchSize = 2
    _ = try V1Training(settings, log: { print($0) }).run(resume: false)

    let prm = try TrainedPRM.load(URL(fileURLWithPath: output))
    let z = try prm.stepLogits(question: "What is 2 + 3?", candidates: ["Step 1: 2 + 3 = 5.\n\nFinal answer: 5"], splitter: .v1)[0]
    return (z.map { 1 / (1 + exp(-$0)) }, Aggregation.meanLogOdds.score(logits: z))
}
