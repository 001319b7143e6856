"""The chaos test's SMTP server (scripts/chaos.sh): accepts every message on loopback and
records one JSON line per delivery in FILE before it answers 250, so a message the relay was
told is delivered is on record, and a second delivery of one message (the relay's
at-least-once window) is a second line with the same Message-ID:
  {"at": <unix ms>, "message_id": "<outbox id>@<domain>", "to": ["..."], "subject": "..."}
Usage: python3 sink.py PORT FILE

Why Python and not end2end/smtp-sink.mjs (smtp-server): lettre writes a message's body and
its closing "\\r\\n.\\r\\n" in two writes on a socket with Nagle's algorithm on, so the second
waits until the server acknowledges the first, and Linux delays that ACK by 40 ms: some 20
messages a second per relay. A real mail server does the same; this sink acknowledges at
once (TCP_QUICKACK, which Node cannot set), so the test's thousands of emails drain in
seconds rather than minutes. The chaos test is about what is delivered, not how fast.
"""

import asyncio
import json
import socket
import sys
import time

QUICKACK = getattr(socket, "TCP_QUICKACK", 12)


def header(head: str, name: str) -> str:
    """The value of header NAME in a header block (unfolded), or ''."""
    unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ")
    prefix = name.lower() + ":"
    for line in unfolded.split("\r\n"):
        if line.lower().startswith(prefix):
            return line[len(prefix):].strip()
    return ""


class Session(asyncio.Protocol):
    def __init__(self, out):
        self.out = out
        self.buffer = b""
        self.in_data = False
        self.rcpt = []

    def connection_made(self, transport):
        self.transport = transport
        self.sock = transport.get_extra_info("socket")
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(b"220 chaos-sink ESMTP\r\n")

    def quickack(self):
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        except OSError:
            pass

    def data_received(self, data):
        # Acknowledge what arrived now, not 40 ms later (see the module's comment).
        self.quickack()
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                message = self.buffer[:end + 2]
                self.buffer = self.buffer[end + 5:]
                self.in_data = False
                self.deliver(message)
                self.transport.write(b"250 2.0.0 accepted\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = self.buffer[:end].decode("latin-1")
            self.buffer = self.buffer[end + 2:]
            self.command(line)

    def command(self, line):
        verb = line[:4].upper()
        if verb in ("EHLO", "HELO"):
            self.transport.write(b"250-chaos-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        elif verb == "MAIL":
            self.rcpt = []
            self.transport.write(b"250 2.1.0 ok\r\n")
        elif verb == "RCPT":
            start, end = line.find("<"), line.find(">")
            self.rcpt.append(line[start + 1:end] if 0 <= start < end else line[8:].strip())
            self.transport.write(b"250 2.1.5 ok\r\n")
        elif verb == "DATA":
            self.in_data = True
            self.transport.write(b"354 end with <CRLF>.<CRLF>\r\n")
        elif verb in ("RSET", "NOOP"):
            if verb == "RSET":
                self.rcpt = []
            self.transport.write(b"250 2.0.0 ok\r\n")
        elif verb == "QUIT":
            self.transport.write(b"221 2.0.0 bye\r\n")
            self.transport.close()
        else:
            self.transport.write(b"502 5.5.2 not implemented\r\n")

    def deliver(self, message: bytes):
        text = message.decode("latin-1")
        end = text.find("\r\n\r\n")
        head = text if end < 0 else text[:end]
        line = {
            "at": int(time.time() * 1000),
            "message_id": header(head, "Message-ID").strip("<>"),
            "to": self.rcpt,
            "subject": header(head, "Subject"),
        }
        # Written (to the kernel) before the 250: a crash of the sink itself is not what this
        # test is about, so no fsync.
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()


async def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    out = open(path, "a", encoding="utf-8")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Session(out), "127.0.0.1", port)
    print(f"chaos sink listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python3 sink.py PORT FILE", file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
