import sharp from "sharp";

/** A distinct, real picture: fixtures are drawn, not committed. */
export function solidPng(width: number, height: number, color: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer();
}

export function noisyPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#000", noise: { type: "gaussian", mean: 128, sigma: 40 } } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

export function solidJpeg(width: number, height: number, color: string, orientation?: number): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: color } }).jpeg();
  return (orientation ? image.withMetadata({ orientation }) : image).toBuffer();
}

export function dataUrlBytes(dataUrl: unknown): { mime: string; bytes: Buffer } {
  const match = /^data:([^;]+);base64,(.*)$/s.exec(String(dataUrl));
  if (!match) throw new Error(`not a data URL: ${String(dataUrl).slice(0, 40)}`);
  return { mime: match[1]!, bytes: Buffer.from(match[2]!, "base64") };
}
