import type { ImageModel } from "./api.js";

export interface PickedImage {
  file: File;
  /** Object URL of the preview; revoked when the image leaves the list. */
  url: string;
}

/** The job in flight: how to abandon its submission, the timer that shows its seconds, how to stop following it. */
export interface RunningCall {
  controller: AbortController;
  timer: number;
  /** Set once the gateway has answered the submission. */
  jobId?: string;
  /** Ends the subscription (or the polling) that follows the job. */
  stop?: () => void;
}

/** What the page remembers between events. */
export interface PageState {
  models: ImageModel[];
  /** The model the form follows; none until the list has loaded, or when no model is available. */
  current: ImageModel | undefined;
  /** The gateway refused the model list for want of a token (auth.protectQueries): a new token should retry it. */
  modelsNeedToken: boolean;
  /** Counts model-list requests, so only the answer to the latest (sent with the latest token) is shown. */
  modelsRequest: number;
  /** The pending retry of the model list while a token is being typed. */
  tokenSettle: number | undefined;
  /** The input images, in the order they are sent. */
  picked: PickedImage[];
  running: RunningCall | undefined;
}

export function createPageState(): PageState {
  return {
    models: [],
    current: undefined,
    modelsNeedToken: false,
    modelsRequest: 0,
    tokenSettle: undefined,
    picked: [],
    running: undefined,
  };
}
