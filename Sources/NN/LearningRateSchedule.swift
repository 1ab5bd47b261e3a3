import Foundation

/// A learning-rate schedule: the rate for the k-th optimiser step (k from 0), as PyTorch's
/// schedulers give it after k calls of `scheduler.step()`.
public enum LearningRateSchedule: Equatable, Codable, Sendable {
    case constant
    /// `torch.optim.lr_scheduler.StepLR`: multiply by `gamma` every `stepSize` steps.
    case step(stepSize: Int, gamma: Double)
    /// Linear warm-up from 0 over `warmupSteps`, then half a cosine down to 0 at `totalSteps`
    /// (transformers' `get_cosine_schedule_with_warmup`).
    case cosineWithWarmup(warmupSteps: Int, totalSteps: Int)
    /// Linear warm-up, then linear decay to 0 at `totalSteps` (`get_linear_schedule_with_warmup`).
    case linearWithWarmup(warmupSteps: Int, totalSteps: Int)

    /// The multiplier of the base rate at step `k`.
    public func factor(at k: Int) -> Double {
        switch self {
        case .constant:
            return 1
        case let .step(stepSize, gamma):
            return Foundation.pow(gamma, Double(k / Swift.max(1, stepSize)))
        case let .cosineWithWarmup(warmup, total):
            if k < warmup { return Double(k) / Double(Swift.max(1, warmup)) }
            let progress = Double(k - warmup) / Double(Swift.max(1, total - warmup))
            return Swift.max(0, 0.5 * (1 + Foundation.cos(Double.pi * 0.5 * 2 * progress)))
        case let .linearWithWarmup(warmup, total):
            if k < warmup { return Double(k) / Double(Swift.max(1, warmup)) }
            return Swift.max(0, Double(total - k) / Double(Swift.max(1, total - warmup)))
        }
    }

    public func learningRate(base: Double, at k: Int) -> Double { base * factor(at: k) }
}

/// Drives an optimiser's learning rate from a schedule, one `step()` per optimiser step.
public final class LearningRateScheduler {
    public let schedule: LearningRateSchedule
    public let baseLearningRate: Double
    public private(set) var stepCount: Int
    private unowned let optimizer: Optimizer

    public init(_ optimizer: Optimizer, schedule: LearningRateSchedule, stepCount: Int = 0) {
        self.optimizer = optimizer
        self.schedule = schedule
        baseLearningRate = optimizer.learningRate
        self.stepCount = stepCount
        optimizer.learningRate = schedule.learningRate(base: baseLearningRate, at: stepCount)
    }

    /// Sets the step count (resuming) and the optimiser's rate for it.
    public func restore(stepCount: Int) {
        self.stepCount = stepCount
        optimizer.learningRate = schedule.learningRate(base: baseLearningRate, at: stepCount)
    }

    /// Advances to the next step and sets the optimiser's rate for it.
    public func step() {
        stepCount += 1
        optimizer.learningRate = schedule.learningRate(base: baseLearningRate, at: stepCount)
    }
}
