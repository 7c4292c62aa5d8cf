import Foundation
import GRDB
import Hummingbird
import VectisAPI
import VectisRuntime
import VectisStorage

/// `/v1/channels` and `/v1/notifications`: where notifications go, the Test and "send digest now" buttons, and what
/// was sent. One method per route; changes need the admin token, reads the read-only one too.
struct ChannelsController {
    let database: DatabasePool
    let secrets: SecretBox
    let worker: NotificationWorker
    let upstreams: UpstreamPolicy
    let access: AccessTokens

    typealias Context = BasicRequestContext

    func addRoutes(to router: Router<Context>) {
        let admin = router.group("v1").add(middleware: BearerTokenMiddleware(token: access.admin))
        let reader = router.group("v1").add(middleware: BearerTokenMiddleware(reading: access))
        admin.post("channels", use: create)
        reader.get("channels", use: list)
        reader.get("channels/:id", use: show)
        admin.patch("channels/:id", use: edit)
        admin.delete("channels/:id", use: delete)
        admin.post("channels/:id/test", use: test)
        admin.post("channels/:id/digest", use: digest)
        reader.get("notifications", use: notifications)
    }

    static let noSuchChannel = Response.problem(.notFound, "No such channel.")

    func channel(_ context: Context) async throws -> ChannelRecord? {
        guard let id = ChannelRecord.id(try context.parameters.require("id")) else { return nil }
        return try await database.read { db in try ChannelRecord.find(id: id, db) }
    }

    func view(_ channel: ChannelRecord) async throws -> ChannelView {
        let waiting = try await database.read { db in try NotificationQueue.waiting(channel: channel.id, db) }
        return channel.view(secrets: secrets, waiting: waiting)
    }

    @Sendable func create(_ request: Request, _ context: Context) async throws -> Response {
        guard let body = try? await request.decode(as: NewChannel.self, context: context) else {
            return Response.problem(.badRequest, "The body must be a JSON object: name, kind, settings, secrets.")
        }
        let edit: ChannelEdit
        switch ChannelEdit.make(body) {
        case .failure(let refusal): return Response.problem(.badRequest, refusal.message)
        case .success(let made): edit = made
        }
        if let problem = edit.problem(upstreams: upstreams) { return Response.problem(.badRequest, problem) }
        let tenant = body.tenant ?? "default"
        guard tenant.utf8.count <= 64, !tenant.isEmpty else { return Response.problem(.badRequest, "tenant must be 1 to 64 characters.") }
        let record = try edit.record(id: 0, tenant: tenant, secrets: secrets, previous: nil, now: worker.clock())
        let saved = try await database.write { db in try ChannelRecord.find(id: try ChannelRecord.insert(record, db), db) }
        guard let saved else { return Self.noSuchChannel }
        return try Response.json(try await view(saved), status: .created)
    }

    @Sendable func list(_ request: Request, _ context: Context) async throws -> Response {
        let channels = try await database.read { db in
            try ChannelRecord.all(db).map { ($0, try NotificationQueue.waiting(channel: $0.id, db)) }
        }
        return try Response.json(ChannelList(channels: channels.map { $0.0.view(secrets: secrets, waiting: $0.1) }))
    }

    @Sendable func show(_ request: Request, _ context: Context) async throws -> Response {
        guard let channel = try await channel(context) else { return Self.noSuchChannel }
        return try Response.json(try await view(channel))
    }

    @Sendable func edit(_ request: Request, _ context: Context) async throws -> Response {
        guard let id = ChannelRecord.id(try context.parameters.require("id")) else { return Self.noSuchChannel }
        guard let change = try? await request.decode(as: ChannelChange.self, context: context) else {
            return Response.problem(.badRequest, "The body must be a JSON object: the channel's settings to change.")
        }
        enum Outcome {
            case none
            case refused(String)
            case saved(ChannelRecord)
        }
        // Read, check and write in one transaction, so two edits at once cannot undo each other unseen.
        let now = worker.clock()
        let outcome = try await database.write { [secrets, upstreams] db -> Outcome in
            guard let current = try ChannelRecord.find(id: id, db) else { return .none }
            let edit = ChannelEdit.make(current, change, secrets: secrets)
            if let problem = edit.problem(upstreams: upstreams) { return .refused(problem) }
            try ChannelRecord.save(try edit.record(id: id, tenant: current.tenant, secrets: secrets, previous: current, now: now), db)
            // Fixed settings or secrets are tried at once: whatever waits for this channel is due now (a rename keeps the
            // waits a receiver asked for).
            if change.settings != nil || change.secrets != nil || change.enabled == true { try NotificationQueue.retryNow(channel: id, db) }
            return try ChannelRecord.find(id: id, db).map(Outcome.saved) ?? .none
        }
        switch outcome {
        case .none: return Self.noSuchChannel
        case .refused(let message): return Response.problem(.badRequest, message)
        case .saved(let channel):
            worker.wake.signal()
            return try Response.json(try await view(channel))
        }
    }

    /// Refused while a rule notifies the channel (remove it from those rules first); its messages go with it.
    @Sendable func delete(_ request: Request, _ context: Context) async throws -> Response {
        guard let channel = try await channel(context) else { return Self.noSuchChannel }
        let users = try await database.write { db -> [String] in
            let rules = try RuleRecord.using(channel: channel.id, db)
            if rules.isEmpty { try ChannelRecord.delete(id: channel.id, db) }
            return rules.map { "ru_\($0.id)" }
        }
        guard users.isEmpty else {
            return Response.problem(.conflict, "Rules \(users.joined(separator: ", ")) notify this channel; remove it from them first.")
        }
        return Response(status: .noContent)
    }

    @Sendable func test(_ request: Request, _ context: Context) async throws -> Response {
        guard let channel = try await channel(context) else { return Self.noSuchChannel }
        // Like the PSA's Test button: the test ran and this is its answer, so 200 either way.
        return try Response.json(try await worker.test(channel))
    }

    /// Queues the channel's digest now (besides its daily one).
    @Sendable func digest(_ request: Request, _ context: Context) async throws -> Response {
        guard let channel = try await channel(context) else { return Self.noSuchChannel }
        let now = worker.clock()
        let day =
            (DigestSchedule(at: "00:00", timeZone: channel.digestTimeZone) ?? DigestSchedule(at: "00:00", timeZone: "UTC"))?
            .day(of: now) ?? ""
        let queued = try await database.write { [worker] db in
            _ = try NotificationWorker.queueDigest(
                channel: channel, day: day, token: "now \(now.timeIntervalSince1970)", console: worker.console, now: now, db)
            return try NotificationQueue.list(channel: channel.id, limit: 1, db).first
        }
        worker.wake.signal()
        guard let queued else { return Self.noSuchChannel }
        return try Response.json(queued.view, status: .accepted)
    }

    /// `?channel=ch_1`, `?limit=` (1–500, default 100): newest first.
    @Sendable func notifications(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = request.uri.queryParameters
        var channel: Int64?
        if let text = parameters.get("channel") {
            guard let id = ChannelRecord.id(text) else {
                return Response.problem(.badRequest, "channel must be a channel id such as ch_1.")
            }
            channel = id
        }
        var limit = 100
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...500).contains(value) else {
                return Response.problem(.badRequest, "limit must be from 1 to 500.")
            }
            limit = value
        }
        let records = try await database.read { [channel, limit] db in try NotificationQueue.list(channel: channel, limit: limit, db) }
        return try Response.json(NotificationList(notifications: records.map(\.view)))
    }
}
