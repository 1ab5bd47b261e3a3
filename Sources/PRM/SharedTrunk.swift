import Models
import Torch

/// The bottom decoder layers that several PRMs hold unchanged (PRMs fine-tuned from one
/// backbone with `--train_layers`): they run once per token trie, and each PRM runs only
/// the layers above them. Scoring the same trie with each PRM in turn reuses the states.
public final class SharedTrunk {
    /// Decoder layers, counted from the bottom, equal in every PRM.
    public let layers: Int
    private let model: CausalLM
    /// The states leaving the trunk for the last few tries, oldest first.
    private var recent: [(sequences: [[Int]], states: Tensor)] = []
    private let remembered = 16

    /// nil for fewer than two backbones or when they share no layer.
    public init?(_ backbones: [CausalLM]) throws {
        guard let first = backbones.first, backbones.count > 1 else { return nil }
        let shared = try backbones.dropFirst().map { try first.sharedBottomLayers(with: $0) }.min() ?? 0
        guard shared > 0 else { return nil }
        layers = shared
        model = first
    }

    /// The states entering layer `layers` for the packed trie of `sequences`.
    func states(_ sequences: [[Int]], input: DecoderInput, positions: Tensor, visibility: Tensor) throws -> Tensor {
        if let hit = recent.first(where: { $0.sequences == sequences }) { return hit.states }
        let states = try model.hiddenStates(input, positions: positions, visibility: visibility, layers: 0..<layers)
        recent.append((sequences, states))
        if recent.count > remembered { recent.removeFirst() }
        return states
    }
}
