#!/usr/bin/env python3
"""Generates tests/corpus/malformed.jsonl: malformed SCIM requests and the error each must get.

Run from the repository root: python3 tests/corpus/generate.py
The e2e test `malformed_corpus` replays every line against the real binaries (Postgres and
SQLite) after creating a user `{user}` and a group `{group}` with it as member,
and checks the status, the scimType, that no answer is a 5xx and that the workspace is
unchanged afterwards.

One JSON object per line:
  name      unique, says what is wrong
  method    HTTP method
  path      relative to the SCIM base URL; `{user}`, `{group}` are replaced by the ids,
            `{USER}`/`{GROUP}` by them in upper case, `{user_simple}`/`{group_simple}`
            without hyphens, `{huge}` by 10,240 characters
  headers   optional; `content-type` defaults to application/scim+json, null removes it
  body      optional JSON body (placeholders replaced in strings; `{"$repeat": s, "times": n}`
            becomes s repeated n times, `{"$list": v, "times": n}` a list of n copies of v
            with `{i}` in strings replaced by the index)
  raw       optional raw body text (instead of `body`)
  status    expected HTTP status
  scimType  expected scimType, or null
"""

import json
import os

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
UNKNOWN_EXT = "urn:example:params:scim:schemas:extension:unknown:2.0:User"
NOBODY = "00000000-0000-7000-8000-000000000000"

cases = []


def case(name, method, path, status, scim_type, body=None, raw=None, headers=None):
    entry = {"name": name, "method": method, "path": path}
    if headers is not None:
        entry["headers"] = headers
    if body is not None:
        entry["body"] = body
    if raw is not None:
        entry["raw"] = raw
    entry["status"] = status
    entry["scimType"] = scim_type
    cases.append(entry)


def user(**attributes):
    body = {"schemas": [USER], "userName": "corpus-new@x.test"}
    body.update(attributes)
    return body


def put_user(**attributes):
    body = {"schemas": [USER], "userName": "corpus@x.test"}
    body.update(attributes)
    return body


def patch(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


INVALID = (400, "invalidValue")
SYNTAX = (400, "invalidSyntax")

# 1. Simple string attributes x wrong JSON types, on POST, PUT and PATCH.
STRINGS = ["displayName", "nickName", "title", "userType", "preferredLanguage", "locale",
           "timezone", "profileUrl"]
WRONG_FOR_STRING = {"number": 5, "boolean": True, "array": ["x"], "object": {"a": "b"}}
for attribute in STRINGS:
    for kind, value in WRONG_FOR_STRING.items():
        case(f"POST {attribute} as {kind}", "POST", "/Users", *INVALID, body=user(**{attribute: value}))
        case(f"PUT {attribute} as {kind}", "PUT", "/Users/{user}", *INVALID, body=put_user(**{attribute: value}))
        case(f"PATCH replace {attribute} as {kind}", "PATCH", "/Users/{user}", *INVALID,
             body=patch({"op": "replace", "path": attribute, "value": value}))
for kind, value in WRONG_FOR_STRING.items():
    case(f"POST userName as {kind}", "POST", "/Users", *INVALID,
         body={"schemas": [USER], "userName": value})
    case(f"POST externalId as {kind}", "POST", "/Users", *INVALID, body=user(externalId=value))

# 2. Booleans.
for value in [5, "yes", "1", ["true"], {"v": True}]:
    case(f"POST active as {json.dumps(value)}", "POST", "/Users", *INVALID, body=user(active=value))
    case(f"PATCH replace active as {json.dumps(value)}", "PATCH", "/Users/{user}", *INVALID,
         body=patch({"op": "replace", "path": "active", "value": value}))

# 3. The complex `name`.
for kind, value in {"string": "Barbara", "number": 5, "array": [{"givenName": "B"}]}.items():
    case(f"POST name as {kind}", "POST", "/Users", *INVALID, body=user(name=value))
    case(f"PUT name as {kind}", "PUT", "/Users/{user}", *INVALID, body=put_user(name=value))
for sub in ["givenName", "familyName", "formatted", "middleName"]:
    for kind, value in {"number": 5, "array": ["x"], "object": {"a": 1}}.items():
        case(f"POST name.{sub} as {kind}", "POST", "/Users", *INVALID, body=user(name={sub: value}))
    case(f"PATCH name.{sub} as number", "PATCH", "/Users/{user}", *INVALID,
         body=patch({"op": "replace", "path": f"name.{sub}", "value": 5}))

# 4. Multi-valued complex attributes x wrong shapes, on POST, PUT and PATCH add.
MULTI = {
    "emails": "a@x.test",
    "phoneNumbers": "+1 555 0100",
    "ims": "someone",
    "photos": "https://x.test/p.png",
    "entitlements": "admin",
    "roles": "admin",
    "x509Certificates": "MIIC",
}
for attribute, good in MULTI.items():
    shapes = {
        "a string": good,
        "a number": 5,
        "a list of strings": [good],
        "a list of numbers": [5],
        "value a number": [{"value": 5}],
        "value a list": [{"value": [good]}],
        "value an object": [{"value": {"v": good}}],
        "primary a word": [{"value": good, "primary": "yes"}],
        "primary a number": [{"value": good, "primary": 1}],
        "type a number": [{"value": good, "type": 5}],
    }
    if attribute not in ("emails", "phoneNumbers"):
        shapes["an object"] = {"value": good}
    for shape, value in shapes.items():
        case(f"POST {attribute} {shape}", "POST", "/Users", *INVALID, body=user(**{attribute: value}))
        case(f"PUT {attribute} {shape}", "PUT", "/Users/{user}", *INVALID, body=put_user(**{attribute: value}))
        if shape != "an object":
            case(f"PATCH add {attribute} {shape}", "PATCH", "/Users/{user}", *INVALID,
                 body=patch({"op": "add", "path": attribute, "value": value}))

# 5. addresses.
ADDRESS_SHAPES = {
    "a string": "1 Main St",
    "an object": {"locality": "Springfield"},
    "a list of strings": ["1 Main St"],
    "postalCode a list": [{"postalCode": ["12345"]}],
    "postalCode a number": [{"postalCode": 12345}],
    "locality an object": [{"locality": {"name": "x"}}],
    "country a boolean": [{"country": True}],
    "primary a word": [{"locality": "x", "primary": "yes"}],
    "formatted a list": [{"formatted": ["a", "b"]}],
}
for shape, value in ADDRESS_SHAPES.items():
    case(f"POST addresses {shape}", "POST", "/Users", *INVALID, body=user(addresses=value))
    case(f"PUT addresses {shape}", "PUT", "/Users/{user}", *INVALID, body=put_user(addresses=value))
    if shape != "an object":
        case(f"PATCH replace addresses {shape}", "PATCH", "/Users/{user}", *INVALID,
             body=patch({"op": "replace", "path": "addresses", "value": value}))
case("PATCH addresses[type eq work].postalCode a list", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "replace", "path": 'addresses[type eq "work"].postalCode', "value": ["1"]}))
case("PATCH emails[type eq work].value a number", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "replace", "path": 'emails[type eq "work"].value', "value": 5}))

# 6. password: accepted and discarded, but only as a string.
for kind, value in {"number": 5, "list": ["secret"], "object": {"v": "secret"}, "boolean": False}.items():
    case(f"POST password as {kind}", "POST", "/Users", *INVALID, body=user(password=value))

# 7. Enterprise extension.
for attribute in ["employeeNumber", "costCenter", "organization", "division", "department"]:
    case(f"POST enterprise {attribute} as number", "POST", "/Users", *INVALID,
         body=user(schemas=[USER, ENTERPRISE], **{ENTERPRISE: {attribute: 5}}))
for name, manager in {
    "a number": 5,
    "value a number": {"value": 5},
    "naming no user": NOBODY,
    "not an id": "not-an-id",
    "object naming no user": {"value": NOBODY},
}.items():
    case(f"POST manager {name}", "POST", "/Users", *INVALID,
         body=user(schemas=[USER, ENTERPRISE], **{ENTERPRISE: {"manager": manager}}))
    case(f"PATCH manager {name}", "PATCH", "/Users/{user}", *INVALID,
         body=patch({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": manager}))
case("POST enterprise as a string", "POST", "/Users", *INVALID,
     body=user(schemas=[USER, ENTERPRISE], **{ENTERPRISE: "Sales"}))

# 8. schemas on POST/PUT of both resources.
SCHEMAS_USER = {
    "missing": None,
    "empty": [],
    "only an unknown URN": ["urn:example:unknown"],
    "the Group URN": [GROUP],
    "User and Group URNs": [USER, GROUP],
    "a non-URN string": [USER, "User"],
}
for name, schemas in SCHEMAS_USER.items():
    body = {"userName": "corpus@x.test"}
    if schemas is not None:
        body["schemas"] = schemas
    case(f"POST /Users schemas {name}", "POST", "/Users", *INVALID, body=body)
    case(f"PUT /Users schemas {name}", "PUT", "/Users/{user}", *INVALID, body=body)
for name, schemas in {"a string": USER, "a list of numbers": [1], "an object": {"a": USER}}.items():
    case(f"POST /Users schemas {name}", "POST", "/Users", *SYNTAX,
         body={"schemas": schemas, "userName": "corpus-new@x.test"})
SCHEMAS_GROUP = {
    "missing": None,
    "empty": [],
    "the User URN": [USER],
    "Group and User URNs": [GROUP, USER],
    "the enterprise URN": [GROUP, ENTERPRISE],
}
for name, schemas in SCHEMAS_GROUP.items():
    body = {"displayName": "corpus"}
    if schemas is not None:
        body["schemas"] = schemas
    case(f"POST /Groups schemas {name}", "POST", "/Groups", *INVALID, body=body)
    case(f"PUT /Groups schemas {name}", "PUT", "/Groups/{group}", *INVALID, body=body)

# 9. Extension schemas the workspace did not declare.
case("POST an undeclared extension", "POST", "/Users", *INVALID,
     body=user(schemas=[USER, UNKNOWN_EXT], **{UNKNOWN_EXT: {"badge": "7"}}))
case("POST an undeclared extension attribute", "POST", "/Users", *INVALID,
     body=user(**{f"{UNKNOWN_EXT}:badge": "7"}))
case("PUT an undeclared extension", "PUT", "/Users/{user}", *INVALID,
     body=put_user(**{UNKNOWN_EXT: {"badge": "7"}}))
case("PATCH add under an undeclared extension", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "add", "path": f"{UNKNOWN_EXT}:badge", "value": "7"}))
case("PATCH replace an undeclared extension", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "replace", "path": UNKNOWN_EXT, "value": {"badge": "7"}}))
case("PATCH path-less undeclared extension", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "add", "value": {f"{UNKNOWN_EXT}:badge": "7"}}))

# 9b. Group extension schemas: a workspace declares extensions for users only, so any
# extension URN in a Group body or PATCH path is refused and nothing is stored.
GROUP_EXT = "urn:example:params:scim:schemas:extension:acme:2.0:Group"
GROUP_EXT_BODIES = {
    "a group extension": {"schemas": [GROUP, GROUP_EXT], "displayName": "corpus-new",
                          GROUP_EXT: {"cost": 7}},
    "a group extension not in schemas": {"schemas": [GROUP], "displayName": "corpus-new",
                                         GROUP_EXT: {"cost": 7}},
    "a group extension attribute": {"schemas": [GROUP], "displayName": "corpus-new",
                                    f"{GROUP_EXT}:cost": 7},
    "a group extension set to null": {"schemas": [GROUP], "displayName": "corpus-new",
                                      GROUP_EXT: None},
    "a group extension only in schemas": {"schemas": [GROUP, GROUP_EXT], "displayName": "corpus-new"},
    "an unknown URN without :Group": {"schemas": [GROUP, "urn:example:groupext"],
                                      "displayName": "corpus-new",
                                      "urn:example:groupext": {"tier": "gold"}},
    "a group extension inside the core container": {"schemas": [GROUP],
                                                    GROUP: {"displayName": "corpus-new",
                                                            GROUP_EXT: {"cost": 7}}},
}
for name, body in GROUP_EXT_BODIES.items():
    case(f"POST /Groups with {name}", "POST", "/Groups", *INVALID, body=body)
    case(f"PUT /Groups with {name}", "PUT", "/Groups/{group}", *INVALID, body=body)
GROUP_EXT_PATCHES = {
    "add under a group extension": {"op": "add", "path": f"{GROUP_EXT}:cost", "value": 7},
    "replace a whole group extension": {"op": "replace", "path": GROUP_EXT, "value": {"cost": 7}},
    "remove a group extension": {"op": "remove", "path": GROUP_EXT},
    "path-less group extension": {"op": "add", "value": {GROUP_EXT: {"cost": 7}}},
    "path-less group extension attribute": {"op": "add", "value": {f"{GROUP_EXT}:cost": 7}},
    "add under the enterprise User URN": {"op": "add", "path": f"{ENTERPRISE}:department",
                                          "value": "x"},
}
for name, operation in GROUP_EXT_PATCHES.items():
    case(f"PATCH /Groups {name}", "PATCH", "/Groups/{group}", *INVALID, body=patch(operation))

# 10. Control characters, in values and in names, on every write.
CONTROLS = {"NUL": "\u0000", "SOH": "\u0001", "ESC": "\u001b", "DEL": "\u007f", "NEL": "\u0085",
            "BEL": "\u0007"}
for cname, char in CONTROLS.items():
    case(f"POST userName with {cname}", "POST", "/Users", *INVALID,
         body=user(userName=f"corpus{char}@x.test"))
    case(f"POST displayName with {cname}", "POST", "/Users", *INVALID, body=user(displayName=f"a{char}b"))
    case(f"POST name.givenName with {cname}", "POST", "/Users", *INVALID, body=user(name={"givenName": char}))
    case(f"POST emails.value with {cname}", "POST", "/Users", *INVALID,
         body=user(emails=[{"value": f"a{char}@x.test"}]))
    case(f"POST addresses.locality with {cname}", "POST", "/Users", *INVALID,
         body=user(addresses=[{"locality": f"x{char}"}]))
    case(f"POST attribute name with {cname}", "POST", "/Users", *INVALID,
         body=user(**{f"title{char}": "x"}))
    case(f"PUT title with {cname}", "PUT", "/Users/{user}", *INVALID, body=put_user(title=f"t{char}"))
    case(f"PATCH title with {cname}", "PATCH", "/Users/{user}", *INVALID,
         body=patch({"op": "replace", "path": "title", "value": f"t{char}"}))
    case(f"POST group displayName with {cname}", "POST", "/Groups", *INVALID,
         body={"schemas": [GROUP], "displayName": f"g{char}"})
    case(f"PATCH group displayName with {cname}", "PATCH", "/Groups/{group}", *INVALID,
         body=patch({"op": "replace", "path": "displayName", "value": f"g{char}"}))

# 11. Content types.
for name, content_type in {"missing": None, "text/plain": "text/plain", "application/xml": "application/xml",
                           "form": "application/x-www-form-urlencoded", "jsonx": "application/jsonx"}.items():
    headers = {"content-type": content_type}
    case(f"POST /Users content-type {name}", "POST", "/Users", 415, None, body=user(), headers=headers)
    case(f"PUT /Users content-type {name}", "PUT", "/Users/{user}", 415, None, body=put_user(), headers=headers)
    case(f"PATCH /Users content-type {name}", "PATCH", "/Users/{user}", 415, None,
         body=patch({"op": "replace", "path": "title", "value": "T"}), headers=headers)
    case(f"POST /Groups content-type {name}", "POST", "/Groups", 415, None,
         body={"schemas": [GROUP], "displayName": "corpus-new"}, headers=headers)

# 12. Ids we never issue: 404 on every method of both resources.
IDS = {
    "10 KB": "{huge}",
    "trailing space": "{id}%20",
    "leading space": "%20{id}",
    "upper case": "{ID}",
    "braces": "%7B{id}%7D",
    "not a uuid": "abc",
    "well-formed, unknown": NOBODY,
    "simple form": "{id_simple}",
}
for endpoint, placeholder, body in [
    ("Users", "user", put_user()),
    ("Groups", "group", {"schemas": [GROUP], "displayName": "corpus"}),
]:
    for name, pattern in IDS.items():
        id_ = (pattern.replace("{id}", "{" + placeholder + "}")
               .replace("{ID}", "{" + placeholder.upper() + "}")
               .replace("{id_simple}", "{" + placeholder + "_simple}"))
        for method in ["GET", "PUT", "PATCH", "DELETE"]:
            entry_body = None
            if method == "PUT":
                entry_body = body
            elif method == "PATCH":
                entry_body = patch({"op": "replace", "path": "displayName", "value": "x"})
            case(f"{method} /{endpoint} id {name}", method, f"/{endpoint}/{id_}",
                 404, None, body=entry_body)

# 13. Bodies that are not JSON objects.
for name, raw in {"empty": "", "truncated": "{\"userName\":", "not JSON": "userName=a",
                  "trailing garbage": "{} x"}.items():
    case(f"POST /Users body {name}", "POST", "/Users", *SYNTAX, raw=raw)
    case(f"PATCH /Users body {name}", "PATCH", "/Users/{user}", *SYNTAX, raw=raw)
for name, body in {"an array": [], "a string": "x", "a number": 5, "null": None}.items():
    case(f"POST /Users body {name}", "POST", "/Users", *SYNTAX, raw=json.dumps(body))
    case(f"POST /Groups body {name}", "POST", "/Groups", *SYNTAX, raw=json.dumps(body))

# 14. Sizes (limits in the README).
case("POST displayName of 900 KiB", "POST", "/Users", *INVALID,
     body=user(displayName={"$repeat": "x", "times": 900 * 1024}))
case("POST displayName of 1,025 bytes", "POST", "/Users", *INVALID,
     body=user(displayName={"$repeat": "x", "times": 1025}))
case("POST name.givenName of 2 KiB", "POST", "/Users", *INVALID,
     body=user(name={"givenName": {"$repeat": "é", "times": 1024}}))
case("POST 11,000 emails", "POST", "/Users", *INVALID,
     body=user(emails={"$list": {"value": "e{i}@x.test"}, "times": 11000}))
case("POST 1,001 phoneNumbers", "POST", "/Users", *INVALID,
     body=user(phoneNumbers={"$list": {"value": "+1 555 {i}"}, "times": 1001}))
case("POST 1,001 roles", "POST", "/Users", *INVALID,
     body=user(roles={"$list": {"value": "r{i}"}, "times": 1001}))
case("POST a user over 256 KiB", "POST", "/Users", *INVALID,
     body=user(addresses={"$list": {"formatted": {"$repeat": "x", "times": 900}}, "times": 300}))
case("PATCH add 1,001 phoneNumbers", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "add", "path": "phoneNumbers", "value": {"$list": {"value": "+1 555 {i}"}, "times": 1001}}))
case("PUT externalId of 2 KiB", "PUT", "/Users/{user}", *INVALID,
     body=put_user(externalId={"$repeat": "x", "times": 2048}))
case("POST userName of 257 characters", "POST", "/Users", *INVALID,
     body={"schemas": [USER], "userName": {"$repeat": "u", "times": 257}})
case("POST group displayName of 257 characters", "POST", "/Groups", *INVALID,
     body={"schemas": [GROUP], "displayName": {"$repeat": "g", "times": 257}})
case("POST a body over 1 MiB", "POST", "/Users", 413, None,
     body=user(displayName={"$repeat": "x", "times": 1100 * 1024}))

# 15. PATCH requests that are malformed as PatchOps.
case("PATCH Operations missing", "PATCH", "/Users/{user}", *SYNTAX, body={"schemas": [PATCH_OP]})
case("PATCH Operations an object", "PATCH", "/Users/{user}", *SYNTAX,
     body={"schemas": [PATCH_OP], "Operations": {"op": "add"}})
case("PATCH op unknown", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "frobnicate", "path": "title", "value": "x"}))
case("PATCH op missing", "PATCH", "/Users/{user}", *SYNTAX, body=patch({"path": "title", "value": "x"}))
case("PATCH path a number", "PATCH", "/Users/{user}", 400, "invalidPath",
     body=patch({"op": "add", "path": 5, "value": "x"}))
case("PATCH path with a broken filter", "PATCH", "/Users/{user}", 400, "invalidPath",
     body=patch({"op": "replace", "path": "emails[type eq]", "value": "x"}))
case("PATCH path with an unclosed filter", "PATCH", "/Users/{user}", 400, "invalidPath",
     body=patch({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}))
case("PATCH remove without a path", "PATCH", "/Users/{user}", 400, "noTarget", body=patch({"op": "remove"}))
case("PATCH replace the read-only groups", "PATCH", "/Users/{user}", 400, "mutability",
     body=patch({"op": "add", "path": "groups", "value": [{"value": "{group}"}]}))
case("PATCH replace id", "PATCH", "/Users/{user}", 400, "mutability",
     body=patch({"op": "replace", "path": "id", "value": NOBODY}))
case("PATCH a nested complex value", "PATCH", "/Users/{user}", *INVALID,
     body=patch({"op": "add", "path": "roles", "value": [{"value": "a", "x": {"y": 1}}]}))
case("PATCH group members a string", "PATCH", "/Groups/{group}", *INVALID,
     body=patch({"op": "add", "path": "members", "value": "x"}))
case("PATCH group members value a number", "PATCH", "/Groups/{group}", *INVALID,
     body=patch({"op": "add", "path": "members", "value": [{"value": 5}]}))
case("PATCH group displayName a number", "PATCH", "/Groups/{group}", *INVALID,
     body=patch({"op": "replace", "path": "displayName", "value": 5}))

# 16. Groups.
for kind, value in WRONG_FOR_STRING.items():
    case(f"POST group displayName as {kind}", "POST", "/Groups", *INVALID,
         body={"schemas": [GROUP], "displayName": value})
    case(f"PUT group displayName as {kind}", "PUT", "/Groups/{group}", *INVALID,
         body={"schemas": [GROUP], "displayName": value})
for name, members in {"a string": "x", "an object": {"a": 1}, "a list of numbers": [5],
                      "value a number": [{"value": 5}], "value a list": [{"value": ["x"]}]}.items():
    case(f"POST group members {name}", "POST", "/Groups", *INVALID,
         body={"schemas": [GROUP], "displayName": "corpus-new", "members": members})
case("POST group without displayName", "POST", "/Groups", *INVALID, body={"schemas": [GROUP]})
case("POST group with a blank displayName", "POST", "/Groups", *INVALID,
     body={"schemas": [GROUP], "displayName": "   "})
case("POST user without userName", "POST", "/Users", *INVALID, body={"schemas": [USER]})
case("POST user with a blank userName", "POST", "/Users", *INVALID, body={"schemas": [USER], "userName": "  "})

# 17. Control characters in filters (query and .search body).
for cname, escaped in {"NUL": "%00", "ESC": "%1B", "DEL": "%7F"}.items():
    case(f"GET /Users filter value with {cname}", "GET",
         f"/Users?filter=userName%20eq%20%22a{escaped}b%22", 400, "invalidFilter")
    case(f"GET /Groups filter value with {cname}", "GET",
         f"/Groups?filter=displayName%20eq%20%22a{escaped}b%22", 400, "invalidFilter")
case("POST /Users/.search filter value with NUL", "POST", "/Users/.search", 400, "invalidValue",
     body={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
           "filter": "userName eq \"a\u0000b\""})

names = [c["name"] for c in cases]
duplicates = {n for n in names if names.count(n) > 1}
assert not duplicates, duplicates

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "malformed.jsonl")
with open(out, "w", encoding="utf-8") as f:
    for entry in cases:
        f.write(json.dumps(entry, ensure_ascii=True, sort_keys=False) + "\n")
print(f"{len(cases)} cases -> {out}")
