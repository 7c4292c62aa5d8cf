import Foundation
import GRDB
import VectisBus
import VectisContracts

/// Stream epochs: a producer whose database was lost or replaced numbers from 1 again under a new epoch. Without
/// this, its next events would look like duplicates of what was applied before and be skipped — a real failed
/// run would never arrive. On a new epoch the consumer forgets the stream's cursors and asks for everything
/// from 1; the services' natural keys (a backup run's job id, a ticket's dedupe key) keep facts it already
/// applied from taking effect twice.
extension BusConsumer {
    enum EpochVerdict {
        /// No epoch in the header, or the one the cursors belong to.
        case current
        /// The first epoch seen for the stream (or the first since this version): adopted as it is.
        case first(String)
        /// A new epoch: the stream's numbering started again.
        case changed(String)
        /// An epoch already replaced: a straggler from before the change.
        case retired
    }

    /// How many replaced epochs per stream are remembered (their stragglers are dropped).
    static let retiredEpochsKept = 8

    func epochVerdict(_ header: MessageHeader) -> EpochVerdict {
        guard let epoch = header.epoch else { return .current }
        return state.withLock { state in
            if state.retiredEpochs[header.stream]?.contains(epoch) == true { return .retired }
            guard let known = state.epochs[header.stream] else { return .first(epoch) }
            return known == epoch ? .current : .changed(epoch)
        }
    }

    func adopt(_ epoch: String, for stream: String) async {
        do {
            try await database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO bus_stream_epoch (stream, epoch, retired, updated_at) VALUES (?, ?, '', ?)
                        ON CONFLICT (stream) DO NOTHING
                        """,
                    arguments: [stream, epoch, Date().timeIntervalSince1970])
            }
            state.withLock { $0.epochs[stream] = $0.epochs[stream] ?? epoch }
        } catch {
            logger.error("could not store a stream's epoch", metadata: ["error": "\(error)"])
        }
    }

    func changeEpoch(of stream: String, to epoch: String) async {
        let (old, retired, topics) = state.withLock { state in
            let old = state.epochs[stream]
            let retired = Array(((state.retiredEpochs[stream] ?? []) + [old].compactMap { $0 }).suffix(Self.retiredEpochsKept))
            let topics = state.cursors.keys.filter { $0.stream == stream }.map(\.topic)
            return (old, retired, topics)
        }
        do {
            try await database.write { db in
                try db.execute(sql: "DELETE FROM bus_cursor WHERE stream = ?", arguments: [stream])
                try db.execute(
                    sql: """
                        INSERT INTO bus_stream_epoch (stream, epoch, retired, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (stream) DO UPDATE SET epoch = excluded.epoch, retired = excluded.retired,
                            updated_at = excluded.updated_at
                        """,
                    arguments: [stream, epoch, retired.joined(separator: ","), Date().timeIntervalSince1970])
            }
        } catch {
            logger.error("could not store a stream's new epoch", metadata: ["error": "\(error)"])
            return
        }
        state.withLock { state in
            state.epochs[stream] = epoch
            state.retiredEpochs[stream] = retired
            for key in state.cursors.keys where key.stream == stream { state.cursors[key] = nil }
            for key in state.announced.keys where key.stream == stream { state.announced[key] = nil }
            for key in state.pending.keys where key.stream == stream { state.pending[key] = nil }
            for key in state.suspectedRegression.keys where key.stream == stream { state.suspectedRegression[key] = nil }
            for key in state.skipAllowed.keys where key.stream == stream { state.skipAllowed[key] = nil }
        }
        metrics.epochChanges.increment()
        logger.warning(
            "a stream started numbering again (new epoch: its database was replaced); reading it again from the start",
            metadata: ["stream": "\(LogText.cut(stream))", "from": "\(old ?? "none")", "to": "\(LogText.cut(epoch))"])
        for topic in topics {
            requestReplay(Key(stream: stream, topic: topic), from: 1, reason: .gap)
        }
    }
}
