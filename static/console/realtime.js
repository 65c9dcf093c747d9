// Websocket connection to /ws/console/ with reconnect (exponential backoff + jitter) and
// catch-up from the last seen event id. After any reconnect the page also refetches what it
// shows, because a pub/sub layer may have dropped events while we were away.
const STORE_KEY = "relay.console.lastEventId";

export class ConsoleSocket {
  constructor({ onEvent, onPresence, onStatus, onReconnected }) {
    this.onEvent = onEvent;
    this.onPresence = onPresence;
    this.onStatus = onStatus;
    this.onReconnected = onReconnected;
    // The page's own cursor (read before it rendered) wins: the socket replays whatever
    // happened between the render and the connection.
    this.lastId = Number(document.body.dataset.lastEventId || 0)
      || Number(sessionStorage.getItem(STORE_KEY) || 0);
    this.attempt = 0;
    this.everConnected = false;
    this.queue = [];
    this.seen = new Set();
    this.connect();
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws/console/`;
  }

  connect() {
    this.onStatus("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.addEventListener("open", () => {
      const reconnected = this.everConnected;
      this.everConnected = true;
      this.attempt = 0;
      this.onStatus("connected");
      if (this.lastId) this.send({ type: "catch_up", after: this.lastId });
      for (const message of this.queue.splice(0)) this.send(message);
      if (reconnected) this.onReconnected();
    });
    ws.addEventListener("message", (e) => this.handle(JSON.parse(e.data)));
    ws.addEventListener("close", (e) => {
      // 4401/4403: the session ended or is not an agent's; the sign-in page takes over.
      if (e.code === 4401 || e.code === 4403) { location.reload(); return; }
      this.onStatus("offline");
      const delay = Math.min(30000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      setTimeout(() => this.connect(), delay);
    });
  }

  handle(event) {
    if (event.type === "hello") {
      if (!this.lastId) this.remember(event.last_id);
      return;
    }
    if (event.type === "presence") return this.onPresence(event);
    if (event.type === "catch_up.done") {
      this.remember(event.last_id);
      if (event.more) this.onReconnected();
      return;
    }
    if (event.type === "pong" || event.type === "error") return;
    if (typeof event.id === "number") {
      if (this.seen.has(event.id)) return; // live and replayed: handle once
      this.seen.add(event.id);
      if (this.seen.size > 5000) this.seen = new Set([...this.seen].slice(-2500));
      this.remember(event.id);
    }
    this.onEvent(event);
  }

  remember(id) {
    if (typeof id === "number" && id > this.lastId) {
      this.lastId = id;
      sessionStorage.setItem(STORE_KEY, String(id));
    }
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
    } else if (message.type !== "presence" || message.state !== "typing") {
      this.queue.push(message);
    }
  }
}
