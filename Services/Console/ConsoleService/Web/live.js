// Live updates: a service's Server-Sent Events through the console (read with fetch and a stream reader, since
// EventSource cannot send the token). While the stream is up the screen redraws when its service publishes a change;
// while it is down the screen falls back to refreshing every 5 s, and the stream is tried again every 5 s.
import { token } from "./api.js";

let current = null;

function setIndicator(live) {
  const indicator = document.getElementById("live");
  if (!indicator) return;
  indicator.hidden = false;
  indicator.textContent = live ? "● live" : "○ refreshing every 5 s";
  indicator.className = live ? "live on" : "live off";
}

/// Is a stream up right now (so polling can rest)?
export function isLive() { return current?.up === true; }

/// Watches `topics` of `service`; `onChange` is called at most once a second while events arrive.
export function watch(service, topics, onChange) {
  stop();
  const state = { up: false, stopped: false, controller: null, retry: null, pending: null };
  current = state;
  const changed = () => {
    if (state.pending) return;
    state.pending = setTimeout(() => { state.pending = null; if (!state.stopped) onChange(); }, 1000);
  };
  async function connect() {
    state.controller = new AbortController();
    try {
      const response = await fetch(`/api/${service}/v1/events?topics=${encodeURIComponent(topics.join(","))}`, {
        headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" }, signal: state.controller.signal });
      if (!response.ok || !response.body) throw new Error(`the live stream answered ${response.status}`);
      state.up = true;
      setIndicator(true);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.split("\n").some((line) => line.startsWith("event: "))) changed();
        }
      }
    } catch { /* dropped, refused or aborted: fall back below */ }
    state.up = false;
    setIndicator(false);
    if (!state.stopped) {
      // What happened while the stream was down is read now, then the stream is tried again.
      onChange();
      state.retry = setTimeout(connect, 5000);
    }
  }
  connect();
}

/// Stops watching (the screen is left).
export function stop() {
  if (!current) return;
  current.stopped = true;
  clearTimeout(current.retry);
  clearTimeout(current.pending);
  current.controller?.abort();
  current = null;
  const indicator = document.getElementById("live");
  if (indicator) indicator.hidden = true;
}

/// Drops the current stream as a network failure would (support and the browser test use it to check the fallback).
export function cut() { current?.controller?.abort(); }
window.vectisLive = { cut, isLive };
