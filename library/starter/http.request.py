"""HTTP request with urllib (trusted: needs the network)."""
import json
import urllib.error
import urllib.parse
import urllib.request

MAX_RESPONSE_BYTES = 10 * 1024 * 1024


def header_lines(text):
    headers = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"Header line {n} must look like 'Name: value'.")
        headers[name.strip()] = value.strip()
    return headers


def run(inputs, params, ctx):
    url = (params.get("url") or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"The URL must start with http:// or https:// (got {url!r}).")
    query = inputs.get("query")
    if query:
        if not isinstance(query, dict):
            raise ValueError("The 'query' input must be an object of parameter names and values.")
        extra = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in query.items()})
        url += ("&" if parts.query else "?") + extra
    method = params.get("method", "GET")
    headers = {"User-Agent": "katalusis-http-request/1", "Accept": "application/json, */*;q=0.5"}
    headers.update(header_lines(params.get("headers")))
    token = params.get("bearer_token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    body = inputs.get("body")
    if body is not None:
        if method in ("GET", "HEAD"):
            raise ValueError(f"A {method} request cannot carry a body; choose POST, PUT or PATCH.")
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    timeout = float(params.get("timeout_seconds", 30))
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    ctx.log(f"{method} {parts.scheme}://{parts.netloc}{parts.path}")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        response = e
    except urllib.error.URLError as e:
        raise ValueError(f"The request to {parts.netloc} failed: {e.reason}.") from None
    except TimeoutError:
        raise ValueError(f"The request to {parts.netloc} timed out after {timeout:g} s.") from None
    with response:
        raw = response.read(MAX_RESPONSE_BYTES + 1)
        status = response.status
        resp_headers = {k.lower(): v for k, v in response.headers.items()}
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ValueError(f"The response is larger than {MAX_RESPONSE_BYTES} bytes.")
    charset = response.headers.get_content_charset() or "utf-8"
    text = raw.decode(charset, errors="replace")
    parsed = text
    wanted = params.get("response", "auto")
    if wanted == "json" or (wanted == "auto" and "json" in resp_headers.get("content-type", "")):
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            if wanted == "json":
                raise ValueError(f"The response (status {status}) is not JSON: {text[:200]!r}") from None
    if status >= 400 and params.get("fail_on_error", True):
        raise ValueError(f"{method} {url} answered {status}: {text[:500]}")
    return {"status": status, "headers": resp_headers, "body": parsed, "text": text}
