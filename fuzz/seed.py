#!/usr/bin/env python3
"""Seeds the fuzz corpora from the JSON the project already writes down.

Every JSON object found in docs/*.md and tests/ (Rust `json!({...})` literals, raw strings
and escaped strings alike; objects with variables in them are skipped) becomes one seed:
objects with a "type" go to corpus/client_frame, the others to corpus/rest_bodies. A few
hand-written seeds cover bodies the tests build from variables. Files are named by SHA-1 of
their content, as libFuzzer names its own, so running this twice adds nothing.

Usage (from fuzz/): python3 seed.py   then   cargo fuzz cmin <target>   for each target.
"""

import hashlib
import json
import pathlib
import re

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent

HAND = {
    "client_frame": [
        '{"type":"hello","protocol":1,"site":"acme","token":"t","last_seq":3,"locale":"de-DE"}',
        '{"type":"hello","protocol":1,"token":"sess","resume":[{"conversation_id":1,"last_seq":2}]}',
        '{"type":"send","client_id":"m-1","body":"Hallo\\nZeile 2"}',
        '{"type":"send","conversation_id":7,"client_id":"a-1","body":"Gr\\u00fc\\u00dfe"}',
        '{"type":"leave_message","client_id":"m2","body":"Bitte zur\\u00fcckrufen","name":" Anna ","email":"a@example.com","customer_number":"K-1"}',
        '{"type":"start_conversation","name":"Anna","email":"","page_url":"https://shop.example/x"}',
        '{"type":"rate","score":5,"comment":" danke "}',
        '{"type":"rate_ticket","ticket_id":12,"score":1}',
        '{"type":"typing","conversation_id":1,"active":true}',
        '{"type":"ack","seq":18446744073709551615}',
        '{"type":"set_presence","presence":"away"}',
        '{"type":"transfer","conversation_id":7,"to_agent":2}',
        '{"type":"send","client_id":"dup","body":"a","body":"b"}',
        '{"type":"ping","client_id":"x y"}',
    ],
    "rest_bodies": [
        '{"timezone":"Europe/Berlin","week":[[480,1020],[480,1020],[480,1020],[480,1020],[480,1020],null,null]}',
        '{"timezone":"America/New_York","week":[null,null,null,null,null,[0,1440],null],"at":1711846800000,"minutes":600}',
        '{"timezone":"Australia/Lord_Howe","week":[[90,150],null,null,null,null,null,[1,2]],"at":0,"minutes":4294967295}',
        '{"priority":"critical","first_response_minutes":60,"resolution_minutes":480}',
        '{"category":"billing","support_level":"L2","strategy":"round_robin"}',
        '{"allowed_origins":["https://www.example.com","http://localhost:8080","http://[::1]:3000"]}',
        '{"accent":"#1F6FEB","greeting":"Hallo!\\nWie k\\u00f6nnen wir helfen?","position":"left"}',
        '{"tags":[" R\\u00fcckruf ","wartung","\\u0130stanbul"]}',
        '{"url":"https://hooks.example/x","events":["ticket.created","conversation.ended"]}',
        '{"name":"CRM","scopes":["tickets:read","webhooks:manage"]}',
        '{"prechat":{"name":"required","email":"optional","customer_number":"off"}}',
    ],
}


def objects(text):
    """Balanced `{...}` substrings of `text` that parse as JSON objects."""
    found = []
    for start in [m.start() for m in re.finditer(r"\{", text)]:
        depth, in_str, esc = 0, False, False
        for i in range(start, min(len(text), start + 20000)):
            c = text[i]
            if in_str:
                if esc:
                    esc = False
                elif c == "\\":
                    esc = True
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    candidate = text[start : i + 1]
                    try:
                        if isinstance(json.loads(candidate), dict):
                            found.append(candidate)
                    except ValueError:
                        pass
                    break
    return found


def main():
    sources = sorted((ROOT / "docs").glob("*.md"))
    sources += sorted((ROOT / "tests").rglob("*.rs"))
    seeds = {"client_frame": set(HAND["client_frame"]), "rest_bodies": set(HAND["rest_bodies"])}
    for path in sources:
        text = path.read_text(encoding="utf-8", errors="replace")
        # Escaped JSON inside ordinary Rust strings: "{\"type\":\"ping\"}".
        for variant in (text, text.replace('\\"', '"')):
            for obj in objects(variant):
                compact = json.dumps(json.loads(obj), ensure_ascii=False, separators=(",", ":"))
                target = "client_frame" if '"type"' in compact else "rest_bodies"
                seeds[target].add(compact)
    for target, items in seeds.items():
        out = FUZZ / "corpus" / target
        out.mkdir(parents=True, exist_ok=True)
        for item in items:
            data = item.encode("utf-8")
            (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
