/** What SiliconFlow answers, as far as docs/siliconflow.md knows it; unknown fields are tolerated. */
export interface WireImage {
  url: string;
}

export interface WireGenerationResponse {
  images?: WireImage[];
  data?: WireImage[];
  timings?: Record<string, unknown>;
  seed?: unknown;
  created?: number;
  shared_id?: string;
}

export interface WireModelList {
  object?: string;
  data?: Array<{ id?: unknown }>;
}

/** One input image for the body: bytes and the MIME type of its data URL. */
export interface WireInputImage {
  mimeType: string;
  data: Buffer;
}

export const imageFieldNames = ["image", "image2", "image3"] as const;
