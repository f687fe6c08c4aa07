import { imageSize } from "image-size";
import sharp, { type Metadata, type Sharp } from "sharp";
import { ErrorCode, GatewayError, badInput } from "../errors.js";

/** The three formats SiliconFlow takes in a data URL. */
export type UpstreamMime = "image/png" | "image/jpeg" | "image/webp";

export interface InputImageLimits {
  maxLongSide: number;
  maxInputPixels: number;
}

export interface PreparedImage {
  index: number;
  mimeType: UpstreamMime;
  width: number;
  height: number;
  /** The bytes sent upstream: the upload itself when it needed no change. */
  data: Buffer;
  /** What the client sent, for the log: format as decoded, and whether we had to re-encode. */
  sourceFormat: string;
  sourceBytes: number;
  transformed: boolean;
}

export interface ImageDescription {
  mimeType: string;
  extension: string;
  width: number;
  height: number;
}

const passThrough: Record<string, UpstreamMime> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };
/** Decodable, but not taken upstream: sent as PNG. `heif` covers AVIF and HEIC. */
const convertToPng = new Set(["gif", "tiff", "heif"]);

const mimeByFormat: Record<string, { mime: string; ext: string }> = {
  png: { mime: "image/png", ext: "png" },
  jpeg: { mime: "image/jpeg", ext: "jpg" },
  webp: { mime: "image/webp", ext: "webp" },
  gif: { mime: "image/gif", ext: "gif" },
  tiff: { mime: "image/tiff", ext: "tiff" },
  heif: { mime: "image/avif", ext: "avif" },
};

/** First 100 characters of the base64 of these bytes: 75 bytes encode to exactly 100 characters. */
export function base64Preview(data: Buffer): string {
  return data.subarray(0, 75).toString("base64");
}

function decodeError(field: string, error: unknown, maxInputPixels: number): GatewayError {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    return badInput(field, `${field} is larger than ${maxInputPixels} pixels`);
  }
  if (/unsupported image format/i.test(message)) {
    return badInput(field, `${field} is not an image (PNG, JPEG, WebP, GIF, TIFF, AVIF or HEIF expected)`);
  }
  return badInput(field, `${field} is not a valid image: it is damaged or truncated`);
}

/** EXIF orientations 5-8 turn the picture a quarter, swapping width and height. */
function orientedSize(meta: Metadata): { width: number; height: number } {
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  return (meta.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
}

/**
 * Decides what an upload is by decoding it (never by its name or declared type), and returns the bytes
 * to send upstream: untouched when already fit, otherwise oriented, downscaled and/or converted.
 */
export async function prepareInputImage(
  upload: Buffer,
  index: number,
  limits: InputImageLimits,
  field = `input.images[${index}]`,
): Promise<PreparedImage> {
  if (upload.length === 0) throw badInput(field, `${field} is empty`);
  const open = (): Sharp => sharp(upload, { limitInputPixels: limits.maxInputPixels });

  let meta: Metadata;
  try {
    meta = await open().metadata();
  } catch (error) {
    throw decodeError(field, error, limits.maxInputPixels);
  }
  const format = meta.format ?? "unknown";
  if (format === "svg") throw badInput(field, `${field} is an SVG image, which is not accepted`);
  const upstreamMime = passThrough[format];
  if (!upstreamMime && !convertToPng.has(format)) {
    throw badInput(field, `${field} is a ${format} image, which is not accepted (PNG, JPEG, WebP, GIF, TIFF, AVIF or HEIF expected)`);
  }

  const { width, height } = orientedSize(meta);
  const needsRotation = (meta.orientation ?? 1) !== 1;
  const needsResize = Math.max(width, height) > limits.maxLongSide;
  // Every multi-frame input (animated WebP and GIF, multi-page TIFF and HEIF) is cut to its first frame
  // rather than having all its frames counted: SiliconFlow edits a still picture, GIF always arrived as
  // its first frame, and sharp decodes only that frame, so the pixel limit bounds exactly what is decoded
  // and sent. Passed through whole, an animated WebP sent every frame unchecked.
  const animated = (meta.pages ?? 1) > 1;

  if (upstreamMime && !needsRotation && !needsResize && !animated) {
    // Metadata reads only the header: decode fully once so a truncated or corrupt file is refused here.
    try {
      // Reading the last pixel makes libvips decode every row (every pass of an interlaced PNG)
      // without stats()'s per-pixel statistics or a full raw copy: a quarter of the CPU, little memory.
      await open()
        .extract({ left: (meta.width ?? 1) - 1, top: (meta.height ?? 1) - 1, width: 1, height: 1 })
        .raw()
        .toBuffer();
    } catch (error) {
      throw decodeError(field, error, limits.maxInputPixels);
    }
    return { index, mimeType: upstreamMime, width, height, data: upload, sourceFormat: format, sourceBytes: upload.length, transformed: false };
  }

  let pipeline = open().rotate();
  if (needsResize) {
    pipeline = pipeline.resize({ width: limits.maxLongSide, height: limits.maxLongSide, fit: "inside", withoutEnlargement: true });
  }
  const outMime: UpstreamMime = upstreamMime ?? "image/png";
  if (outMime === "image/jpeg") pipeline = pipeline.jpeg({ quality: 92, mozjpeg: false });
  else if (outMime === "image/webp") pipeline = pipeline.webp({ quality: 92 });
  else pipeline = pipeline.png({ compressionLevel: 6 });

  try {
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { index, mimeType: outMime, width: info.width, height: info.height, data, sourceFormat: format, sourceBytes: upload.length, transformed: true };
  } catch (error) {
    throw decodeError(field, error, limits.maxInputPixels);
  }
}

/** True type and size of an output image, from its header alone. */
export async function describeImage(data: Buffer | string): Promise<ImageDescription> {
  let meta: Metadata;
  try {
    meta = await sharp(data).metadata();
  } catch {
    throw new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, "SiliconFlow returned an output that is not an image");
  }
  const known = mimeByFormat[meta.format ?? ""];
  if (!known || !meta.width || !meta.height) {
    throw new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, `SiliconFlow returned an output of unexpected type ${meta.format ?? "unknown"}`);
  }
  return { mimeType: known.mime, extension: known.ext, width: meta.width, height: meta.height };
}

/** image-size's names for the formats the gateway keeps, as sharp would name them. */
const formatByImageSizeType: Record<string, string> = { png: "png", jpg: "jpeg", webp: "webp", gif: "gif", tiff: "tiff", avif: "heif", heif: "heif" };

/**
 * Describes an image from its first bytes only, for a store that never holds the whole file. sharp reads
 * PNG, JPEG and AVIF headers from a prefix but refuses a cut WebP or GIF; image-size reads those.
 */
export async function describeImageHead(head: Buffer, complete: boolean): Promise<ImageDescription> {
  try {
    return await describeImage(head);
  } catch (error) {
    if (complete) throw error;
    let size: ReturnType<typeof imageSize>;
    try {
      size = imageSize(head);
    } catch {
      throw error;
    }
    const known = mimeByFormat[formatByImageSizeType[size.type ?? ""] ?? ""];
    if (!known || !size.width || !size.height) throw error;
    return { mimeType: known.mime, extension: known.ext, width: size.width, height: size.height };
  }
}
