import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { sendText } from '../../src/voice/send-text.js';

describe('sendText: the messages of one event-loop turn leave in one write', () => {
  it('holds one turn of messages to a socket and writes them together, in order, when the turn ends', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const received: string[] = [];
    const arrived = new Promise<void>((resolve) =>
      server.on('connection', (ws) =>
        ws.on('message', (data) => {
          received.push(data.toString());
          if (received.length === 3) resolve();
        }),
      ),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await new Promise((resolve) => client.once('open', resolve));
    const socket = (client as unknown as { _socket: import('node:net').Socket })._socket;
    const writes = vi.spyOn(socket, '_writev' as never);

    sendText(client, 'one');
    sendText(client, 'two');
    sendText(client, 'three');
    expect(socket.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(socket.writableCorked).toBe(0);
    expect(writes).toHaveBeenCalledTimes(1);

    await arrived;
    expect(received).toEqual(['one', 'two', 'three']);
    client.close();
    server.close();
  });

  it('sends one by one, as ws.send does, when the WebSocket has no underlying socket to cork', () => {
    const send = vi.fn();
    sendText({ send } as unknown as WebSocket, 'hello');
    expect(send).toHaveBeenCalledWith('hello');
  });
});
