import sharp from "sharp";

/** The edit both paths make: one input image, the model's own output size. */
export const EDIT_MODEL = "Qwen/Qwen-Image-Edit";
export const EDIT_PROMPT = "make the sky a little warmer";

const EDIT_MUTATION = /* GraphQL */ `
  mutation BenchEdit($input: GenerateImagesInput!) {
    generateImages(input: $input) {
      images { url bytes }
    }
  }
`;

/**
 * Gaussian noise, so the PNG stays about as large as its pixels (a flat picture would compress to a
 * few kilobytes and the bench would move nothing).
 */
export async function noisePng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#000", noise: { type: "gaussian", mean: 128, sigma: 40 } } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

export interface EditOutcome {
  /** Bytes of the output image as downloaded. */
  outputBytes: number;
  /** From building the request to its answer read, then the output's download: where the time goes. */
  requestMs: number;
  downloadMs: number;
}

async function download(url: string): Promise<number> {
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`download of ${url} answered HTTP ${response.status}`);
  return body.byteLength;
}

/**
 * Through the gateway, as a browser would: a GraphQL multipart upload with the CSRF header, then the
 * output fetched from the URL the gateway hands back.
 */
export async function gatewayEdit(gatewayUrl: string, png: Buffer): Promise<EditOutcome> {
  const started = performance.now();
  const form = new FormData();
  form.append("operations", JSON.stringify({ query: EDIT_MUTATION, variables: { input: { model: EDIT_MODEL, prompt: EDIT_PROMPT, images: [null] } } }));
  form.append("map", JSON.stringify({ 0: ["variables.input.images.0"] }));
  // sharp's buffers sit on an ordinary ArrayBuffer, never a SharedArrayBuffer, which is all Blob asks.
  form.append("0", new Blob([png as Buffer<ArrayBuffer>], { type: "image/png" }), "input.png");
  const response = await fetch(`${gatewayUrl}/graphql`, {
    method: "POST",
    headers: { "apollo-require-preflight": "true" },
    body: form,
  });
  const text = await response.text();
  let parsed: { data?: { generateImages?: { images?: Array<{ url: string; bytes: number }> } } | null; errors?: Array<{ message: string }> };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new Error(`gateway answered HTTP ${response.status} with something that is not JSON: ${text.slice(0, 200)}`);
  }
  const image = parsed.data?.generateImages?.images?.[0];
  if (response.status !== 200 || !image) {
    throw new Error(`gateway edit failed (HTTP ${response.status}): ${parsed.errors?.map((e) => e.message).join("; ") ?? text.slice(0, 200)}`);
  }
  const answered = performance.now();
  const outputBytes = await download(image.url);
  if (outputBytes !== image.bytes) throw new Error(`gateway said ${image.bytes} bytes, served ${outputBytes}`);
  return { outputBytes, requestMs: answered - started, downloadMs: performance.now() - answered };
}

/**
 * Straight to the simulator, as a client without the gateway would: base64 of the file in a JSON
 * body, then the output downloaded from the URL in the answer.
 */
export async function directEdit(apiBaseUrl: string, apiKey: string, png: Buffer): Promise<EditOutcome> {
  const started = performance.now();
  const body = JSON.stringify({ model: EDIT_MODEL, prompt: EDIT_PROMPT, image: `data:image/png;base64,${png.toString("base64")}` });
  const response = await fetch(`${apiBaseUrl}/images/generations`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`direct edit failed (HTTP ${response.status}): ${text.slice(0, 200)}`);
  const parsed = JSON.parse(text) as { images?: Array<{ url?: string }> };
  const url = parsed.images?.[0]?.url;
  if (!url) throw new Error(`direct edit returned no image URL: ${text.slice(0, 200)}`);
  const answered = performance.now();
  const outputBytes = await download(url);
  return { outputBytes, requestMs: answered - started, downloadMs: performance.now() - answered };
}
