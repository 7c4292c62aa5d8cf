import Foundation
import VectisBus
import VectisContracts

/// Control messages are believed only as far as the consumer can check them: a heartbeat speaks for the stream
/// that sent it, a replay request for its own requester, and a "no longer held" notice only answers a replay this
/// consumer asked for, from the stream it names, within what that stream announced. The rest is dropped and
/// counted (`vectis_bus_control_rejected_total{reason}`), never acted on.
extension BusConsumer {
    func handleControl(_ item: ReceivedEvent) async {
        switch item.event {
        case let heartbeat as ServiceHeartbeat:
            await heard(heartbeat, header: item.header)
        case let request as BusReplayRequested:
            guard request.requestedBy == item.header.stream else {
                metrics.rejected(.requesterMismatch)
                return
            }
            relay?.requestReplay(request)
        case let notice as BusReplayUnavailable where notice.requestedBy == publisher.stream:
            guard notice.stream == item.header.stream else {
                metrics.rejected(.streamMismatch)
                return
            }
            await accept(notice)
        default:
            break
        }
    }

    private func heard(_ heartbeat: ServiceHeartbeat, header: MessageHeader) async {
        guard heartbeat.stream == header.stream else {
            metrics.rejected(.streamMismatch)
            return
        }
        switch epochVerdict(header) {
        case .retired:
            metrics.rejected(.retiredEpoch)
            return
        case .changed(let epoch):
            await changeEpoch(of: header.stream, to: epoch)
        case .first(let epoch):
            await adopt(epoch, for: header.stream)
        case .current:
            break
        }
        // Intervals are validated finite and positive; clamp to something a person would configure.
        let interval = Duration.milliseconds(Int64(min(max(heartbeat.intervalSeconds, 0.05), 3_600) * 1_000))
        relay?.noteHeartbeat(from: heartbeat.stream, interval: interval)
        if heartbeat.stream == publisher.stream {
            state.withLock { $0.lastOwnHeartbeat = .now }
        }
        for (topic, latest) in heartbeat.latestSeq where filters.contains(where: { $0.matches(topic) }) {
            let key = Key(stream: heartbeat.stream, topic: topic)
            let (last, confirmed) = state.withLock { state -> (UInt64, UInt64?) in
                state.announced[key] = latest
                let last = state.cursors[key] ?? 0
                guard latest < last else {
                    state.suspectedRegression[key] = nil
                    return (last, nil)
                }
                // Once could be a heartbeat overtaken by rows sent after it; twice in a row is a regression.
                if let first = state.suspectedRegression[key] {
                    state.suspectedRegression[key] = nil
                    return (last, min(first, latest))
                }
                state.suspectedRegression[key] = latest
                return (last, nil)
            }
            if let resumeAfter = confirmed {
                await regress(key, from: last, to: resumeAfter)
            } else if latest > last {
                gap(key, last: last, reason: .heartbeat)
            }
        }
    }

    /// The owner announces less than was applied, in the same epoch: its database went back in time (a restore
    /// of an older copy without a new epoch). Its next events would reuse numbers this consumer already holds.
    /// This raises the alarm (`vectis_bus_stream_regressions_total`, an error in the log) and changes nothing:
    /// a heartbeat is not proof enough to move a cursor back. docs/deploy.md says how a restore takes a new epoch.
    private func regress(_ key: Key, from last: UInt64, to announced: UInt64) async {
        metrics.streamRegressions.increment()
        logger.error(
            "a stream went back in time in the same epoch (its database restored from an older copy without a new epoch?)",
            metadata: [
                "stream": "\(LogText.cut(key.stream))", "topic": "\(LogText.cut(key.topic))", "applied": "\(last)",
                "announced": "\(announced)"
            ])
    }

    /// The owner pruned part of what we missed. Checked against what this consumer asked for and what the owner
    /// announced, then remembered until the owner's message at `firstAvailableSeq` proves it (see `acceptLoss`).
    private func accept(_ notice: BusReplayUnavailable) async {
        let key = Key(stream: notice.stream, topic: notice.topic)
        let (cursor, asked, announced) = state.withLock { ($0.cursors[key] ?? 0, $0.pending[key] != nil, $0.announced[key]) }
        guard asked else {
            metrics.rejected(.notRequested)
            return
        }
        // Validated: 1 ≤ fromSeq < firstAvailableSeq ≤ Int64.max, so this cannot wrap.
        let skipTo = notice.firstAvailableSeq - 1
        guard let announced, skipTo > cursor, skipTo <= announced else {
            metrics.rejected(.outOfRange)
            return
        }
        // Remembered, not acted on: the skip happens when the owner's message at `firstAvailableSeq` arrives.
        state.withLock { $0.skipAllowed[key] = notice.firstAvailableSeq }
        if let resynchronisation = notice.resynchronisation {
            logger.notice(
                "the owner no longer holds part of a replay",
                metadata: [
                    "stream": "\(LogText.cut(notice.stream))", "topic": "\(LogText.cut(notice.topic))",
                    "resynchronisation": "\(LogText.cut(resynchronisation, maxBytes: 300))"
                ])
        }
    }
}
