/**
 * Early feedback only: the gateway decodes every upload and decides for real. These checks spare a
 * round trip (and a wait) for the obvious mistakes.
 */
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

interface Format {
  label: string;
  mimeTypes: readonly string[];
  extensions: readonly string[];
}

const FORMATS: readonly Format[] = [
  { label: "PNG", mimeTypes: ["image/png"], extensions: ["png"] },
  { label: "JPEG", mimeTypes: ["image/jpeg", "image/pjpeg"], extensions: ["jpg", "jpeg", "jpe", "jfif"] },
  { label: "WebP", mimeTypes: ["image/webp"], extensions: ["webp"] },
  { label: "GIF", mimeTypes: ["image/gif"], extensions: ["gif"] },
  { label: "TIFF", mimeTypes: ["image/tiff"], extensions: ["tif", "tiff"] },
  { label: "AVIF", mimeTypes: ["image/avif"], extensions: ["avif"] },
  { label: "HEIC", mimeTypes: ["image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"], extensions: ["heic", "heif"] },
];

export const FORMAT_NAMES = FORMATS.map((format) => format.label).join(", ");

/** For the file picker's `accept`: MIME types and extensions, since some systems give HEIC no MIME type. */
export const ACCEPT_ATTRIBUTE = FORMATS.flatMap((format) => [...format.mimeTypes, ...format.extensions.map((ext) => `.${ext}`)]).join(",");

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  const megabytes = bytes / (1024 * 1024);
  return `${Number.isInteger(megabytes) ? megabytes : megabytes.toFixed(1)} MB`;
}

/** Why the file cannot be sent, in words for people; `null` when it may go. */
export function fileProblem(file: Pick<File, "name" | "type" | "size">, maxBytes = MAX_UPLOAD_BYTES): string | null {
  const mime = file.type.toLowerCase();
  const ext = extensionOf(file.name);
  const known = FORMATS.some((format) => format.mimeTypes.includes(mime) || format.extensions.includes(ext));
  if (!known) return `${file.name} is not an image the gateway accepts (${FORMAT_NAMES}).`;
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > maxBytes) return `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)} per image.`;
  return null;
}
