import { createHash } from "node:crypto";
import sharp, { type OverlayOptions, type Sharp } from "sharp";
import type { Size } from "./catalogue.js";

/**
 * Draws the simulator's outputs: real PNGs, so the gateway's download, probe and store paths run on real
 * images. Everything is derived from (seed, prompt, batch index) and the input images, so the same
 * request gives the same bytes, as tests need.
 */

// Low compression: speed matters more than size here (a 1328x1328 text-to-image stays well under 50 ms).
const pngOptions = { compressionLevel: 1, adaptiveFiltering: false } as const;

/** An input image that sharp could not decode; `field` names it (`image`, `image2`, `image3`). */
export class UndecodableImageError extends Error {
  constructor(
    readonly field: string,
    cause: unknown,
  ) {
    super(`${field} could not be decoded as an image`, { cause });
    this.name = "UndecodableImageError";
  }
}

/** A stream of pseudo-random bytes from the request's identity; a hash chain is plenty for pictures. */
class Dice {
  private pool = Buffer.alloc(0);
  private offset = 0;
  private block = 0;

  constructor(private readonly key: string) {}

  byte(): number {
    if (this.offset >= this.pool.length) {
      this.pool = createHash("sha256").update(`${this.block++}\0${this.key}`).digest();
      this.offset = 0;
    }
    return this.pool[this.offset++]!;
  }

  /** Uniform-ish in [0, 1). */
  unit(): number {
    return (this.byte() * 256 + this.byte()) / 65536;
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.unit();
  }

  colour(): string {
    const hex = (n: number) => n.toString(16).padStart(2, "0");
    return `#${hex(this.byte())}${hex(this.byte())}${hex(this.byte())}`;
  }
}

function diceFor(seed: number, prompt: string, index: number): Dice {
  return new Dice(`${seed}\0${index}\0${prompt}`);
}

function fixed(n: number): string {
  return n.toFixed(1);
}

/** Gradient background plus a handful of translucent shapes, as one SVG at the output size. */
function sceneSvg({ width, height }: Size, dice: Dice): string {
  const parts: string[] = [];
  // The gradient runs between a point and its mirror through the centre: any direction, full coverage.
  const gx = dice.unit();
  const gy = dice.unit();
  parts.push(
    `<defs><linearGradient id="bg" x1="${gx.toFixed(3)}" y1="${gy.toFixed(3)}" x2="${(1 - gx).toFixed(3)}" y2="${(1 - gy).toFixed(3)}">` +
      `<stop offset="0" stop-color="${dice.colour()}"/><stop offset="1" stop-color="${dice.colour()}"/>` +
      `</linearGradient></defs>`,
    `<rect width="${width}" height="${height}" fill="url(#bg)"/>`,
  );
  const scale = Math.min(width, height);
  const shapes = 4 + (dice.byte() % 4);
  for (let i = 0; i < shapes; i++) {
    const fill = `fill="${dice.colour()}" fill-opacity="${dice.between(0.35, 0.9).toFixed(2)}"`;
    const cx = dice.unit() * width;
    const cy = dice.unit() * height;
    const r = dice.between(0.05, 0.3) * scale;
    switch (dice.byte() % 4) {
      case 0:
        parts.push(`<circle cx="${fixed(cx)}" cy="${fixed(cy)}" r="${fixed(r)}" ${fill}/>`);
        break;
      case 1: {
        const angle = fixed(dice.between(0, 90));
        parts.push(
          `<rect x="${fixed(cx - r)}" y="${fixed(cy - r / 2)}" width="${fixed(2 * r)}" height="${fixed(r)}" ` +
            `transform="rotate(${angle} ${fixed(cx)} ${fixed(cy)})" ${fill}/>`,
        );
        break;
      }
      case 2: {
        const points = [0, 1, 2]
          .map((k) => {
            const a = (k * 2 * Math.PI) / 3 + dice.between(0, 1);
            return `${fixed(cx + r * Math.cos(a))},${fixed(cy + r * Math.sin(a))}`;
          })
          .join(" ");
        parts.push(`<polygon points="${points}" ${fill}/>`);
        break;
      }
      default:
        parts.push(
          `<ellipse cx="${fixed(cx)}" cy="${fixed(cy)}" rx="${fixed(r)}" ry="${fixed(r * dice.between(0.3, 0.8))}" ${fill}/>`,
        );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join("")}</svg>`;
}

/** A text-to-image output of exactly `size`. */
export async function paintScene(size: Size, seed: number, prompt: string, index: number): Promise<Buffer> {
  const dice = diceFor(seed, prompt, index);
  const svg = sceneSvg(size, dice);
  // flatten drops the alpha channel librsvg adds: generated pictures are opaque RGB, like the real ones.
  return sharp(Buffer.from(svg), { limitInputPixels: false })
    .flatten({ background: "#000000" })
    .png(pngOptions)
    .toBuffer();
}

export interface EditInput {
  field: string;
  bytes: Buffer;
}

/** The long side of an edit's output when the model takes no `image_size`. */
export const editLongSide = 1024;

/**
 * An edit: the first input, resized (to `size` when the model takes one, else to `editLongSide` on the
 * long side, keeping the aspect), tinted deterministically, with the other inputs as thumbnails down the
 * right edge. A test can therefore see that the output comes from the inputs.
 */
export async function paintEdit(
  inputs: EditInput[],
  size: Size | undefined,
  seed: number,
  prompt: string,
  index: number,
): Promise<Buffer> {
  const dice = diceFor(seed, prompt, index);
  const [first, ...others] = inputs;
  const base = await decode(first!, (image) =>
    image
      .rotate()
      .resize(
        size
          ? { width: size.width, height: size.height, fit: "cover" }
          : { width: editLongSide, height: editLongSide, fit: "inside" },
      )
      .removeAlpha()
      .modulate({
        brightness: dice.between(0.9, 1.1),
        saturation: dice.between(0.8, 1.2),
        hue: Math.round(dice.between(-10, 10)),
      })
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
  const { width, height } = base.info;
  const margin = Math.max(2, Math.round(Math.max(width, height) * 0.02));
  const thumbSide = Math.max(8, Math.floor(Math.min(width, height) / 4));
  const overlays: OverlayOptions[] = [];
  let top = margin;
  for (const input of others) {
    const thumb = await decode(input, (image) =>
      image
        .rotate()
        .resize({ width: thumbSide, height: thumbSide, fit: "inside" })
        .removeAlpha()
        .png()
        .toBuffer({ resolveWithObject: true }),
    );
    const left = Math.max(0, width - thumb.info.width - margin);
    // Thumbnails that no longer fit (tiny outputs) are left out rather than overflowing, which sharp refuses.
    if (top + thumb.info.height <= height && thumb.info.width <= width) {
      overlays.push({ input: thumb.data, left, top });
    }
    top += thumb.info.height + margin;
  }
  // A small seeded mark, so two batch items of one edit differ visibly even with the same tint range.
  const mark = Math.max(4, Math.round(Math.min(width, height) * 0.06));
  const markColour = dice.colour();
  if (mark <= width && mark <= height) {
    overlays.push({
      input: Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${mark}" height="${mark}">` +
          `<circle cx="${mark / 2}" cy="${mark / 2}" r="${mark / 2}" fill="${markColour}" fill-opacity="0.8"/></svg>`,
      ),
      left: Math.min(margin, width - mark),
      top: Math.max(0, height - mark - margin),
    });
  }
  return sharp(base.data, { raw: { width, height, channels: base.info.channels } })
    .composite(overlays)
    // The SVG mark brings an alpha channel; outputs stay opaque RGB like the text-to-image ones.
    .removeAlpha()
    .png(pngOptions)
    .toBuffer();
}

async function decode<T>(input: EditInput, work: (image: Sharp) => Promise<T>): Promise<T> {
  try {
    return await work(sharp(input.bytes));
  } catch (error) {
    throw new UndecodableImageError(input.field, error);
  }
}
