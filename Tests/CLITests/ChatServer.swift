import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A loopback OpenAI-compatible chat server for the tests: a deterministic "model" (the reply
/// is a function of the request body alone) and faults injected by arrival order, with a log
/// of every request and the most requests it had in flight at once.
final class ChatServer: @unchecked Sendable {
    enum Fault: Equatable {
        case status500, tooManyRequests(retryAfter: Int), slow(seconds: Double), malformedJSON, dropConnection
    }

    struct Entry {
        var digest: UInt64
        var arrived: Date
        var outcome = "pending"
    }

    private let lock = NSLock()
    private var entries: [Entry] = []
    private var inFlight = 0
    private var mostInFlight = 0
    private let faultAt: (Int) -> Fault?
    private let reply: ([String: Any]) -> String
    private var channel: Channel!

    /// `faultAt(n)` is what happens to the n-th request to arrive (0-based); nil answers it.
    init(faultAt: @escaping (Int) -> Fault? = { _ in nil }, reply: @escaping ([String: Any]) -> String) throws {
        self.faultAt = faultAt
        self.reply = reply
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(Handler(server: self)) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    var url: String { "http://127.0.0.1:\(channel.localAddress!.port!)/v1" }
    var log: [Entry] { lock.withLock { entries } }
    var maxInFlight: Int { lock.withLock { mostInFlight } }

    func stop() { try? channel.close().wait() }

    /// FNV-1a: a digest that is the same in every process.
    static func digest(_ bytes: some Sequence<UInt8>) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    fileprivate func arrive(_ body: [UInt8]) -> (Int, Fault?) {
        lock.withLock {
            entries.append(Entry(digest: Self.digest(body), arrived: Date()))
            inFlight += 1
            mostInFlight = max(mostInFlight, inFlight)
            return (entries.count - 1, faultAt(entries.count - 1))
        }
    }

    fileprivate func finish(_ index: Int, _ outcome: String) {
        lock.withLock {
            guard entries[index].outcome == "pending" else { return }
            entries[index].outcome = outcome
            inFlight -= 1
        }
    }

    fileprivate func answer(_ body: [UInt8]) -> String? {
        guard let request = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        let completion: [String: Any] = ["object": "chat.completion", "choices": [["index": 0, "finish_reason": "stop",
                                                                                     "message": ["role": "assistant", "content": reply(request)]]]]
        return String(decoding: try! JSONSerialization.data(withJSONObject: completion), as: UTF8.self)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: ChatServer
        var body: [UInt8] = []
        var pending: Int?

        init(server: ChatServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: body = []
            case .body(let chunk): body += chunk.readableBytesView
            case .end: handle(context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let pending { server.finish(pending, "client gone") }
            context.fireChannelInactive()
        }

        private func handle(_ context: ChannelHandlerContext) {
            let (index, fault) = server.arrive(body)
            pending = index
            let body = self.body
            switch fault {
            case nil:
                if let text = server.answer(body) { respond(context, index, .ok, text, outcome: "answered") }
                else { respond(context, index, .badRequest, #"{"error": "not JSON"}"#, outcome: "bad request") }
            case .status500: respond(context, index, .internalServerError, #"{"error": "injected"}"#, outcome: "500")
            case .tooManyRequests(let seconds):
                respond(context, index, .tooManyRequests, #"{"error": "slow down"}"#, headers: ["Retry-After": "\(seconds)"], outcome: "429")
            case .malformedJSON: respond(context, index, .ok, #"{"choices": [{"message": {"content": "cut of"#, outcome: "malformed")
            case .dropConnection:
                server.finish(index, "dropped")
                context.close(promise: nil)
            case .slow(let seconds):
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
                    guard context.channel.isActive, let text = server.answer(body) else { return }
                    respond(context, index, .ok, text, outcome: "answered late")
                }
            }
        }

        private func respond(_ context: ChannelHandlerContext, _ index: Int, _ status: HTTPResponseStatus, _ text: String,
                             headers extra: [String: String] = [:], outcome: String) {
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(text.utf8.count)")])
            for (name, value) in extra { headers.add(name: name, value: value) }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            server.finish(index, outcome)
            pending = nil
        }
    }
}
