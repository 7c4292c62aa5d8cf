import Foundation
import VectisContracts

/// Why a received message was dropped. Every reason has its own counter.
public enum DropReason: String, Error, Sendable, CaseIterable {
    /// Not exactly three frames `[topic][header][body]`.
    case frameCount = "frame_count"
    /// Larger than `maxMessageBytes`.
    case oversized
    /// Topic frame empty or not UTF-8.
    case invalidTopic = "invalid_topic"
    /// Header frame is not a valid header JSON object.
    case invalidHeader = "invalid_header"
    /// Header's schema version is newer than this build understands for the topic.
    case unknownVersion = "unknown_version"
    /// Body does not decode as the topic's type.
    case invalidBody = "invalid_body"
    /// A bundle whose headers and bodies do not match (counts, streams, seqs that do not follow each other).
    case invalidBundle = "invalid_bundle"
    /// Body decodes but its values make no sense (a seq past Int64.max, a reversed range, an unbounded name).
    case invalidValue = "invalid_value"
}

/// A message as it travels: `[topic][header JSON][body JSON]`, the topic in its own frame so libzmq's prefix
/// filtering never looks into a payload.
public struct BusMessage: Sendable {
    public var topic: String
    public var header: MessageHeader
    public var body: [UInt8]

    public init(topic: String, header: MessageHeader, body: [UInt8]) {
        self.topic = topic
        self.header = header
        self.body = body
    }

    public func decode<E: BusEvent>(_ type: E.Type, using decoder: JSONDecoder = BusJSON.makeDecoder()) throws -> E {
        try decoder.decode(type, from: Data(body))
    }
}

/// Encodes and validates frames. One instance per thread: it keeps its own JSON coders.
public struct BusFrameCodec {
    public let encoder = BusJSON.makeEncoder()
    public let decoder = BusJSON.makeDecoder()
    public var maxMessageBytes: Int

    public init(maxMessageBytes: Int = 1 << 20) {
        self.maxMessageBytes = maxMessageBytes
    }

    public func encode<E: BusEvent>(_ event: E, header: MessageHeader) throws -> [[UInt8]] {
        [Array(E.topic.utf8), header.jsonBytes(), Array(try encoder.encode(event))]
    }

    public func encode(topic: String, header: MessageHeader, body: [UInt8]) throws -> [[UInt8]] {
        [Array(topic.utf8), header.jsonBytes(), body]
    }

    /// Checks the frame layout, size, header and schema version of a single message. The body is left for
    /// ``decodeEvent(_:)``.
    public func decode(frames: [[UInt8]]) -> Result<BusMessage, DropReason> {
        let topic: String
        switch checkedTopic(frames) {
        case .failure(let reason): return .failure(reason)
        case .success(let checked): topic = checked
        }
        guard let header = try? MessageHeader(jsonBytes: frames[1]), header.validationProblem == nil else {
            return .failure(.invalidHeader)
        }
        if let refusal = versionRefusal(header, topic: topic) { return .failure(refusal) }
        return .success(BusMessage(topic: topic, header: header, body: frames[2]))
    }

    /// A single message or a bundle (``BusBundle``), checked like ``decode(frames:)``: the messages in stream order. A
    /// bundle is taken whole or refused whole.
    public func decodeMessages(frames: [[UInt8]]) -> Result<[BusMessage], DropReason> {
        guard frames.count == 3, BusBundle.isBundle(headerFrame: frames[1]) else { return decode(frames: frames).map { [$0] } }
        let topic: String
        switch checkedTopic(frames) {
        case .failure(let reason): return .failure(reason)
        case .success(let checked): topic = checked
        }
        guard let headers = MessageHeader.plainHeaders(bundle: frames[1], limit: BusLimits.maxBundleEvents),
            headers.allSatisfy({ $0.validationProblem == nil })
        else { return .failure(.invalidHeader) }
        for header in headers {
            if let refusal = versionRefusal(header, topic: topic) { return .failure(refusal) }
        }
        guard BusBundle.isConsistent(headers) else { return .failure(.invalidBundle) }
        var reader = BusJSONReader(frames[2])
        guard let ranges = reader.elementRanges(limit: headers.count), ranges.count == headers.count else {
            return .failure(.invalidBundle)
        }
        return .success(zip(headers, ranges).map { BusMessage(topic: topic, header: $0, body: Array(frames[2][$1])) })
    }

    /// Frame count, size and topic.
    private func checkedTopic(_ frames: [[UInt8]]) -> Result<String, DropReason> {
        guard frames.count == 3 else { return .failure(.frameCount) }
        guard frames[0].count + frames[1].count + frames[2].count <= maxMessageBytes else {
            return .failure(.oversized)
        }
        guard !frames[0].isEmpty, frames[0].count <= BusLimits.maxTopicBytes, let topic = String(validating: frames[0], as: UTF8.self)
        else {
            return .failure(.invalidTopic)
        }
        return .success(topic)
    }

    private func versionRefusal(_ header: MessageHeader, topic: String) -> DropReason? {
        guard let known = EventCatalog.byTopic[Shard.baseTopic(topic)] else { return nil }
        return header.schemaVersion > known.schemaVersion || header.schemaVersion < 1 ? .unknownVersion : nil
    }

    /// Decodes the body as the type the catalog registers for the topic.
    public func decodeEvent(_ message: BusMessage) -> Result<any BusEvent, DropReason> {
        guard let type = EventCatalog.byTopic[Shard.baseTopic(message.topic)] else { return .failure(.invalidBody) }
        let event: any BusEvent
        do {
            event = try decodeBody(type, message.body)
        } catch {
            return .failure(.invalidBody)
        }
        if let validated = event as? any ValidatedBusEvent, validated.validationProblem != nil {
            return .failure(.invalidValue)
        }
        return .success(event)
    }

    private func decodeBody<E: BusEvent>(_ type: E.Type, _ body: [UInt8]) throws -> any BusEvent {
        // The hot bodies are read by hand; what that reader does not take, JSONDecoder decides.
        if let fast = type as? any BusJSONDecodable.Type, let event = fast.init(plainJSON: body) as? E { return event }
        return try decoder.decode(type, from: Data(body))
    }
}
