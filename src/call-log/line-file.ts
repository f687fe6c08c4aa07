import * as fs from "node:fs";

/**
 * A file opened for appending whole lines with one synchronous write each: a line is in the kernel when
 * `append` returns, or it is not in the file at all. On a full disk `write(2)` may take part of a line
 * and refuse the rest; that part is cut off again (ftruncate), so the file never ends in a torn line.
 * Where even that fails, the next line starts on a line of its own, so every later line still parses.
 */
export class LineFile {
  private fd: number;
  /** The file may end in a fragment: start the next line with a newline. */
  private torn = false;

  constructor(
    readonly path: string,
    private readonly mode: number,
    private readonly fsync: boolean,
  ) {
    this.fd = fs.openSync(path, "a", mode);
  }

  /** Appends `line` (which ends with a newline) whole, or throws the OS error having left the file as it was. */
  append(line: string): void {
    const data = Buffer.from(this.torn ? `\n${line}` : line);
    let written = 0;
    try {
      while (written < data.length) written += fs.writeSync(this.fd, data, written);
      if (this.fsync) fs.fsyncSync(this.fd);
    } catch (error) {
      if (written > 0) this.undo(written);
      throw error;
    }
    this.torn = false;
  }

  /** Removes the last `bytes` bytes, the part of a line that got in before the disk said no. */
  private undo(bytes: number): void {
    try {
      fs.ftruncateSync(this.fd, fs.fstatSync(this.fd).size - bytes);
    } catch {
      this.torn = true;
    }
  }

  /** Marks the file as ending in a fragment that could not be removed. */
  markTorn(): void {
    this.torn = true;
  }

  /** Opens the path again (after the file was renamed away) and closes the old descriptor. */
  reopen(): void {
    const next = fs.openSync(this.path, "a", this.mode);
    const previous = this.fd;
    this.fd = next;
    this.torn = false;
    fs.closeSync(previous);
  }

  flush(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/**
 * A file left ending in a fragment (a crash or a full disk in the middle of a line, by an earlier
 * version or another program) is repaired before the first new line: a fragment that is a whole JSON
 * object only lacks its newline and gets one (`written: false` when the disk refused even that: the
 * next line must start with it); anything else is cut off.
 */
export type Repair = { kind: "cut"; bytes: number } | { kind: "newline"; written: boolean } | null;

export function repairLastLine(filePath: string): Repair {
  let fd: number;
  try {
    fd = fs.openSync(filePath, "r+");
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return null;
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return null;
    // Read backwards in chunks until the previous newline: lines are kilobytes, files may be large.
    const chunks: Buffer[] = [];
    let start = size;
    let newlineAt = -1;
    while (start > 0 && newlineAt < 0) {
      const length = Math.min(65_536, start);
      start -= length;
      const chunk = Buffer.alloc(length);
      fs.readSync(fd, chunk, 0, length, start);
      chunks.unshift(chunk);
      const index = chunk.lastIndexOf(0x0a);
      if (index >= 0) newlineAt = start + index;
    }
    const tailStart = newlineAt + 1;
    const tail = Buffer.concat(chunks).subarray(tailStart - start).toString("utf8");
    if (isJsonObject(tail)) {
      try {
        fs.writeSync(fd, "\n", size);
        return { kind: "newline", written: true };
      } catch {
        return { kind: "newline", written: false };
      }
    }
    fs.ftruncateSync(fd, tailStart);
    return { kind: "cut", bytes: size - tailStart };
  } finally {
    fs.closeSync(fd);
  }
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
