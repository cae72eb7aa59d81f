"""The OpenAPI 3.1 description of the HTTP API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_schema"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _answer(description: str, name: str | None = None, media: str = "application/json") -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if name is not None:
        out["content"] = {media: {"schema": _ref(name) if media == "application/json"
                                  else {"type": "string"}}}  # fmt: skip
    return out


_ERRORS = {code: _answer(text, "Error") for code, text in (
    ("400", "bad input: malformed JSON, a missing or wrong field, an invalid graph"),
    ("401", "the server has a token and the request did not carry it"),
    ("403", "refused: a cross-site request, a missing X-Graphflow-Request header, a host "
            "that is not loopback"),
    ("404", "no run with that id"),
    ("405", "the route does not take this method"),
    ("413", "the request body is over 2 MB"),
)}  # fmt: skip
_TAKEN = _answer("the run id asked for is taken", "Error")
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "code", "message"],
        "properties": {"status": {"type": "integer"}, "code": {"type": "string"},
                       "message": {"type": "string", "description": "what went wrong, how to fix it"},
                       "question": {"type": ["string", "null"]},
                       "waiting": {"type": "array", "items": {"type": "string"}},
                       "problems": {"type": "array", "items": {"type": "object"}}}}}},
    "Question": {"type": "object", "properties": {
        "id": {"type": "string", "description": "NODE@STEP"}, "node": {"type": "string"},
        "text": {"type": "string"}, "options": {"type": "array", "items": {"type": "string"}}}},
    "Usage": {"type": "object", "properties": {
        "calls": {"type": "integer"}, "tokens": {"type": "integer"},
        "cost": {"type": ["number", "null"], "description": "US dollars; null when a price is unknown"},
        "cost_text": {"type": "string"}}},
    "RunSummary": {"type": "object", "required": ["run_id", "status", "question"], "properties": {
        "run_id": {"type": "string"}, "graph": {"type": "string"},
        "status": {"type": "string", "enum": ["running", "ready", "waiting", "completed", "failed",
                                              "limit_reached", "budget_exceeded", "timeout",
                                              "damaged"]},
        "reason": {"type": ["string", "null"]}, "steps": {"type": "integer"},
        "question": {"oneOf": [_ref("Question"), {"type": "null"}]},
        "questions": {"type": "array", "items": _ref("Question")}, "usage": _ref("Usage"),
        "parent_run": {"type": ["string", "null"]}, "parent_node": {"type": ["string", "null"]},
        "forked_at": {"type": ["integer", "null"]}, "created_at": {"type": "number"},
        "updated_at": {"type": "number"}}},
    "Run": {"allOf": [_ref("RunSummary"), {"type": "object", "properties": {
        "error": {"type": ["string", "null"]}, "failed_node": {"type": ["string", "null"]},
        "next": {"type": "array", "items": {"type": "string"}},
        "variables": {"type": "object"}, "visits": {"type": "object"},
        "messages": {"type": "array", "items": _ref("Message")},
        "step_rows": {"type": "array", "items": _ref("Step")},
        "children": {"type": "array", "items": {"type": "object"}}}}]},
    "Message": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "step": {"type": "integer"}, "node": {"type": ["string", "null"]},
        "role": {"type": "string"}, "name": {"type": ["string", "null"]},
        "content": {"type": ["string", "null"]}, "tool_calls": {"type": ["array", "null"]},
        "tool_call_id": {"type": ["string", "null"]}}},
    "Step": {"type": "object", "properties": {
        "step": {"type": "integer"}, "nodes": {"type": "array", "items": {"type": "string"}},
        "variables": {"type": "object"}, "next": {"type": "object"},
        "usage": {"type": ["object", "null"]}, "started_at": {"type": "number"},
        "seconds": {"type": "number"}}},
    "ModelCall": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "step": {"type": "integer"}, "node": {"type": "string"},
        "model": {"type": ["string", "null"]}, "base_url": {"type": ["string", "null"]},
        "started_at": {"type": "number"}, "seconds": {"type": "number", "description": "latency"},
        "prompt": {"type": "array", "items": {"type": "object"}},
        "tools": {"type": "array", "items": {"type": "string"}},
        "response": {"type": ["object", "null"]}, "usage": {"type": "object"},
        "error": {"type": ["string", "null"]}}},
    "StartRun": {"type": "object", "required": ["graph"], "properties": {
        "graph": {"type": "string", "description": "a name GET /api/graphs lists, or the text "
                  "of a graph file (YAML or JSON; run in safe mode)"},
        "input": {"type": ["string", "null"]}, "variables": {"type": "object"},
        "run_id": {"type": "string"}}},
    "Answer": {"type": "object", "required": ["input"], "properties": {
        "input": {"type": "string"},
        "question": {"type": "string", "description": "the id (NODE@STEP) of the question "
                     "answered; refused with 409 unless it is the one waiting"}}},
    "Fork": {"type": "object", "required": ["step"], "properties": {
        "step": {"type": "integer", "description": "fork before this step"},
        "run_id": {"type": "string"}, "start": {"type": "boolean", "default": False}}},
}  # fmt: skip


def openapi_schema() -> dict[str, Any]:
    """The API's OpenAPI document (a new dict each call)."""
    run_json = _answer("the run", "Run")
    paths: dict[str, Any] = {
        "/api/graphs": {"get": {"summary": "Graphs a run can be started of by name",
                                "responses": {"200": _answer("{graphs: [{name, description, "
                                                             "variables, bundled}]}")}}},
        "/api/runs": {
            "get": {"summary": "Runs, newest first", "parameters": [
                {"name": n, "in": "query", "schema": {"type": t}} for n, t in (
                    ("status", "string"), ("graph", "string"), ("text", "string"),
                    ("limit", "integer"))],
                "responses": {"200": _answer("{runs: [RunSummary]}"), "400": _ERRORS["400"]}},
            "post": {"summary": "Start a run", "requestBody": _body("StartRun"),
                     "responses": {"201": _answer("{run_id, graph}"), **_ERRORS,
                                   "409": _TAKEN}}},
        "/api/runs/{run_id}": {"get": {"summary": "One run", "parameters": [_RUN_ID],
                                       "responses": {"200": run_json, "404": _ERRORS["404"]}}},
        "/api/runs/{run_id}/calls": {"get": {
            "summary": "The run's model calls: prompt, response, tokens, latency",
            "parameters": [_RUN_ID], "responses": {"200": _answer("{calls: [ModelCall]}"),
                                                   "404": _ERRORS["404"]}}},
        "/api/runs/{run_id}/events": {"get": {
            "summary": "The run's events as Server-Sent Events (message, step, run, token, "
                       "end); resumable with Last-Event-ID",
            "parameters": [_RUN_ID, {"name": "Last-Event-ID", "in": "header",
                                     "schema": {"type": "string"}}],
            "responses": {"200": _answer("text/event-stream", "Message", "text/event-stream"),
                          "400": _ERRORS["400"], "404": _ERRORS["404"]}}},
        "/api/runs/{run_id}/answer": {"post": {
            "summary": "Answer the question the run waits on, and continue it",
            "parameters": [_RUN_ID], "requestBody": _body("Answer"),
            "responses": {"202": _answer("{run_id, question}"), **_ERRORS,
                          "409": _answer("the question is not waiting, or the run is in use",
                                         "Error")}}},
        "/api/runs/{run_id}/fork": {"post": {
            "summary": "Fork the run before a step (and continue the fork with start: true)",
            "parameters": [_RUN_ID], "requestBody": _body("Fork"),
            "responses": {"201": _answer("{run_id, forked_from, at_step}"), **_ERRORS,
                          "409": _answer("the run id asked for is taken, or the fork cannot "
                                         "be continued", "Error")}}},
        "/api/runs/{run_id}/diagram.svg": {"get": {
            "summary": "The graph with the run's path drawn on it",
            "parameters": [_RUN_ID, {"name": "rankdir", "in": "query",
                                     "schema": {"enum": ["TB", "LR", "BT", "RL"]}}],
            "responses": {"200": _answer("SVG", "Message", "image/svg+xml"),
                          "404": _ERRORS["404"]}}},
    }  # fmt: skip
    return {"openapi": "3.1.0",
            "info": {"title": "graphflow serve", "version": "1",
                     "description": "Runs of graphflow graphs: list, inspect, watch live, "
                                    "start, answer, fork. Requests that change something "
                                    "carry X-Graphflow-Request: 1 (or the token as a Bearer "
                                    "header)."},
            "paths": paths,
            "components": {"schemas": _SCHEMAS,
                           "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}}}  # fmt: skip
