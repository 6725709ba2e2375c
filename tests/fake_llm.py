"""A small OpenAI-compatible chat server for tests: it answers from the sources it is given.

It picks the numbered source sharing the most words with the question and replies with that
source's first sentence followed by its citation marker, so the answerer's parsing is exercised
against real HTTP, real streaming and a reply it did not write itself.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SOURCE = re.compile(r"^\[(\d+)\] \([^)]*\)\n(.+?)(?=\n\n\[\d+\] |\n\nQuestion: )", re.S | re.M)


def reply_to(messages: list[dict[str, Any]]) -> str:
    prompt = messages[-1]["content"]
    if "Standalone question:" in prompt:
        last_user = re.findall(r"^user: (.+)$", prompt, re.M)[-1]
        question = prompt.rsplit("Last question:", 1)[1].split("\n")[0].strip()
        return f"{question} (about: {last_user})"
    question = prompt.rsplit("Question:", 1)[1]
    words = set(re.findall(r"\w+", question.lower()))
    best, best_overlap = None, 0
    for number, text in SOURCE.findall(prompt):
        overlap = len(words & set(re.findall(r"\w+", text.lower())))
        if overlap > best_overlap:
            best, best_overlap = (number, text), overlap
    if best is None or best_overlap < 2:
        return "I couldn't find this in the knowledge base."
    sentence = re.split(r"(?<=[.!?])\s", best[1].strip())[0]
    return f"{sentence} [{best[0]}]"


class Handler(BaseHTTPRequestHandler):
    server: FakeLLM

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        text = reply_to(body["messages"])
        if body.get("stream"):
            self._stream(text)
        else:
            self._json(text)

    def _json(self, text: str) -> None:
        payload = json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": "fake",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in re.findall(r"\S+\s*", text):
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "fake",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


class FakeLLM(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
