import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/**
 * Sends a text message on `ws`, written with every other message sent on the same socket in this turn of the event
 * loop: one syscall for them all (an agent audio chunk and its mark; the replies to frames that came in one read)
 * instead of one each, which is most of what a live call costs the bridge.
 *
 * ws has no public cork, so this corks its underlying net.Socket (the private `_socket`) until the turn ends. Where
 * that field is missing or not a socket (another ws version), messages are written one by one, as ws.send does.
 */
export function sendText(ws: WebSocket, text: string): void {
  const socket = (ws as unknown as { _socket?: Partial<Socket> | null })._socket;
  if (socket && socket.writableCorked === 0 && typeof socket.cork === 'function') {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  ws.send(text);
}

function uncork(socket: Partial<Socket>): void {
  socket.uncork?.();
}
