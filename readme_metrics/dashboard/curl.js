// "Copy as cURL": one logged request as a shell command that sends it again.
// Values are copied as logged: masked credentials and redacted fields stay masked.

const SKIPPED = new Set(["host", "content-length", "connection", "transfer-encoding"]);

export function quote(text) {
  return "'" + String(text).replace(/'/g, "'\\''") + "'";
}

function bodyArgs(post) {
  if (!post) return { args: [], stdin: null, multipart: false };
  const mime = (post.mimeType || "").toLowerCase();
  if (post.params) {
    if (mime.startsWith("multipart/")) {
      const args = post.params.flatMap((p) => p.fileName !== undefined
        ? ["-F", quote(p.name + "=@" + p.fileName + (p.contentType ? ";type=" + p.contentType : ""))]
        : ["-F", quote(p.name + "=" + (p.value || ""))]);
      return { args: args, stdin: null, multipart: true };
    }
    const args = post.params.flatMap((p) => ["--data-urlencode", quote(p.name + "=" + (p.value || ""))]);
    return { args: args, stdin: null, multipart: false };
  }
  if (post.comment && post.comment.startsWith("base64")) {
    return { args: ["--data-binary", "@-"], stdin: post.text, multipart: false };
  }
  return { args: ["--data-raw", quote(post.text || "")], stdin: null, multipart: false };
}

export function toCurl(entry) {
  const req = entry.request;
  const body = bodyArgs(req.postData);
  const lines = ["curl -X " + req.method + " " + quote(req.url)];
  for (const header of req.headers) {
    const name = header.name.toLowerCase();
    if (SKIPPED.has(name) || (body.multipart && name === "content-type")) continue;
    lines.push("-H " + quote(header.name + ": " + header.value));
  }
  for (let i = 0; i < body.args.length; i += 2) lines.push(body.args[i] + " " + body.args[i + 1]);
  const command = lines.join(" \\\n  ");
  return body.stdin === null ? command : "echo " + quote(body.stdin) + " | base64 -d | " + command;
}
