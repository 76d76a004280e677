# tests/integration/aq.py FILE MODE [ARG]: over the JSON-object lines of
# FILE (audit records, recorded events); shared by the integration tests.
#   has JSON   "match" when one record has every field of JSON, else the
#              records (or "(none)")
#   count      how many records
#   eval EXPR  EXPR over recs (and fnmatch, json), printed
import fnmatch, json, sys
recs = []
try:
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if isinstance(o, dict):
                recs.append(o)
except OSError:
    pass
mode = sys.argv[2]
if mode == "has":
    want = json.loads(sys.argv[3])
    if any(all(r.get(k) == v for k, v in want.items()) for r in recs):
        print("match")
    elif not recs:
        print("(none)")
    else:
        keys = ["msg", "processPath", "pid", "effect", "attackType",
                "filepath", "ip", "port", "domain", "count"]
        for r in recs[:12]:
            print(json.dumps({k: r.get(k) for k in keys if k in r}))
elif mode == "count":
    print(len(recs))
else:
    print(eval(sys.argv[3]))
