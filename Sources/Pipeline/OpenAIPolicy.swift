import AsyncHTTPClient
import Foundation
import Models
import NIOCore
import NIOHTTP1

/// A server that did not answer a request, retries included (exit 1: not bad input).
public struct PolicyFailure: Error, CustomStringConvertible {
    public let description: String
}

/// How an OpenAI-compatible server is reached.
public struct ServerSettings: Sendable {
    /// The API's base, e.g. `http://localhost:8000/v1` (`/chat/completions` is appended).
    public var url: String
    public var model: String
    public var apiKey: String?
    /// Requests in flight at once.
    public var concurrency = 8
    /// Seconds a request may take before it is abandoned and retried.
    public var timeout = 120.0
    /// Attempts after the first one fails with a status or error worth retrying.
    public var retries = 6
    /// The first retry waits this long, each later one twice as long (at most a minute),
    /// unless the server says how long in `Retry-After`.
    public var backoff = 1.0
    /// Each failed attempt is appended here as a JSON line (and summarised on stderr).
    public var failureLog: URL?

    public init(url: String, model: String, apiKey: String? = nil) {
        (self.url, self.model, self.apiKey) = (url, model, apiKey)
    }
}

/// A policy served over the OpenAI chat-completions API (vLLM, SGLang, llama.cpp's server, …).
/// A request's samples are separate requests with seeds `seed, seed + 1, …`, so a server that
/// honours `seed` answers a resumed run as an uninterrupted one. A step prefix to continue is
/// sent as a final assistant message with `continue_final_message` (vLLM's and SGLang's
/// extension of the API). 429, 5xx, timeouts, dropped connections and unreadable bodies are
/// retried with backoff; other statuses fail at once.
public final class OpenAIPolicy: Policy, @unchecked Sendable {
    public let settings: ServerSettings
    public var name: String { settings.model }
    /// Images go to the server as data URLs; whether its model reads them is the server's affair.
    public var readsImages: Bool { true }
    /// `sample` may be called from several threads; `concurrency` bounds their requests together.
    public var concurrentRequests: Int { settings.concurrency }
    private let inFlight: RequestLimiter
    private let client: HTTPClient
    private let endpoint: String
    private let logLock = NSLock()
    private var requestCount = 0

    public init(_ settings: ServerSettings) throws {
        guard let url = URL(string: settings.url), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ConfigError(source: settings.url, message: "is not an http(s) URL of an OpenAI-compatible API (e.g. http://localhost:8000/v1)")
        }
        self.settings = settings
        inFlight = RequestLimiter(settings.concurrency)
        endpoint = settings.url.hasSuffix("/chat/completions") ? settings.url
            : settings.url.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/chat/completions"
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .milliseconds(Int64(settings.timeout * 1000))))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = settings.concurrency
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    public func sample(_ request: PolicyRequest) throws -> [String] {
        let bodies = try (0..<request.count).map { try body(request, sample: $0) }
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<[String], Error>!
        Task {
            do { result = .success(try await self.complete(bodies)) } catch { result = .failure(error) }
            semaphore.signal()
        }
        semaphore.wait()
        return try result.get()
    }

    /// The requests' replies in order, at most `concurrency` in flight.
    private func complete(_ bodies: [Data]) async throws -> [String] {
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var replies = [String?](repeating: nil, count: bodies.count), next = 0
            func launch() {
                guard next < bodies.count else { return }
                let (i, body) = (next, bodies[next])
                group.addTask { (i, try await self.completeWithRetries(body)) }
                next += 1
            }
            for _ in 0..<min(settings.concurrency, bodies.count) { launch() }
            while let (i, reply) = try await group.next() {
                replies[i] = reply
                launch()
            }
            return replies.map { $0! }
        }
    }

    /// What an attempt came to when it did not give a reply.
    private struct AttemptFailure: Error {
        var status: Int?
        var reason: String
        var retryable: Bool
        var retryAfter: Double?
    }

    private func completeWithRetries(_ body: Data) async throws -> String {
        let id = logLock.withLock { requestCount += 1; return requestCount }
        var attempt = 0
        while true {
            do {
                return try await attemptOnce(body)
            } catch let failure as AttemptFailure {
                let delay = failure.retryAfter ?? min(settings.backoff * pow(2, Double(attempt)), 60)
                let retrying = failure.retryable && attempt < settings.retries
                log(request: id, attempt: attempt + 1, failure: failure, retryIn: retrying ? delay : nil)
                guard retrying else {
                    let logged = settings.failureLog.map { " (every attempt is logged in \($0.path))" } ?? ""
                    throw PolicyFailure(description: "\(endpoint): request \(id) failed after \(attempt + 1) attempts: \(failure.reason)\(logged)")
                }
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                attempt += 1
            }
        }
    }

    private func attemptOnce(_ body: Data) async throws -> String {
        await inFlight.acquire()
        defer { Task { await inFlight.release() } }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key = settings.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse, bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(settings.timeout * 1000)))
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw AttemptFailure(status: nil, reason: "\(error)", retryable: true)
        }
        let text = String(buffer: bytes)
        let status = Int(response.status.code)
        guard status == 200 else {
            let retryable = status == 408 || status == 429 || status >= 500
            throw AttemptFailure(status: status, reason: "HTTP \(status): \(text.prefix(300))", retryable: retryable,
                                 retryAfter: response.headers.first(name: "Retry-After").flatMap(Double.init))
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let choices = object["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any],
              let content = message["content"] as? String else {
            throw AttemptFailure(status: status, reason: "the reply is not a chat completion with choices[0].message.content: \(text.prefix(300))",
                                 retryable: true)
        }
        return content
    }

    private func log(request: Int, attempt: Int, failure: AttemptFailure, retryIn: Double?) {
        let what = retryIn.map { String(format: "retrying in %.1f s", $0) } ?? "giving up"
        FileHandle.standardError.write(Data("policy: request \(request), attempt \(attempt): \(failure.reason.prefix(160)); \(what)\n".utf8))
        guard let file = settings.failureLog else { return }
        var line: [String: Any] = ["request": request, "attempt": attempt, "reason": failure.reason,
                                   "time": ISO8601DateFormatter().string(from: Date())]
        line["status"] = failure.status
        line["retry_in_s"] = retryIn
        guard var data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        logLock.withLock {
            if !FileManager.default.fileExists(atPath: file.path) { FileManager.default.createFile(atPath: file.path, contents: nil) }
            if let handle = try? FileHandle(forWritingTo: file) {
                handle.seekToEndOfFile()
                handle.write(data)
                try? handle.close()
            }
        }
    }

    /// The chat-completions request for sample `i` of `request`.
    func body(_ request: PolicyRequest, sample i: Int) throws -> Data {
        var user: Any = request.userTurn
        if let image = request.image {
            let bytes: Data
            do { bytes = try Data(contentsOf: image) } catch { throw ConfigError(source: image.path, message: "cannot be read: \(error.localizedDescription)") }
            let type = ["png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"][image.pathExtension.lowercased()] ?? "application/octet-stream"
            user = [["type": "image_url", "image_url": ["url": "data:\(type);base64,\(bytes.base64EncodedString())"]],
                    ["type": "text", "text": request.userTurn]]
        }
        var messages: [[String: Any]] = [["role": "user", "content": user]]
        var body: [String: Any] = ["model": settings.model, "max_tokens": request.sampling.maxTokens,
                                   "temperature": request.sampling.temperature,
                                   "seed": Int((request.sampling.seed &+ UInt64(i)) % (1 << 31))]
        if let topP = request.sampling.topP { body["top_p"] = topP }
        if !request.sampling.stopStrings.isEmpty { body["stop"] = request.sampling.stopStrings }
        if !request.assistantPrefix.isEmpty {
            messages.append(["role": "assistant", "content": request.assistantPrefix])
            body["continue_final_message"] = true
            body["add_generation_prompt"] = false
        }
        body["messages"] = messages
        return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    }
}

/// At most `limit` holders at once, across every `sample` call of one policy; waiters are
/// served in arrival order.
actor RequestLimiter {
    private let limit: Int
    private var holders = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) { self.limit = limit }

    func acquire() async {
        if holders < limit { holders += 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the place to the first waiter, or frees it.
    func release() {
        if waiting.isEmpty { holders -= 1 } else { waiting.removeFirst().resume() }
    }
}
