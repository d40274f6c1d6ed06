// Server-sent events over fetch(): the chat stream is a POST, so EventSource cannot read it.

/** Parse one SSE event block into its JSON data, or null for comments and keep-alives. */
export function parseEvent(block) {
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? JSON.parse(data.join("\n")) : null;
}

/** Split a text buffer into complete event blocks and the unfinished rest. */
export function splitEvents(buffer) {
  const text = buffer.replace(/\r\n?/g, "\n");
  const blocks = text.split("\n\n");
  return { blocks: blocks.slice(0, -1), rest: blocks[blocks.length - 1] };
}

/** Yield the JSON events of a text/event-stream body as they arrive. */
export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      // Keep a trailing "\r" back: its "\n" may arrive in the next chunk.
      const held = value.endsWith("\r") ? "\r" : "";
      const { blocks, rest } = splitEvents(buffer + value.slice(0, value.length - held.length));
      buffer = rest + held;
      for (const block of blocks) {
        const event = parseEvent(block);
        if (event) yield event;
      }
    }
    const last = parseEvent(buffer.replace(/\r\n?/g, "\n"));
    if (last) yield last;
  } finally {
    reader.releaseLock();
  }
}
