/**
 * The gateway's client token, kept in sessionStorage: it survives a reload, but not the tab. A token is
 * a credential, and localStorage would keep it on the machine after the browser is closed.
 */
const STORAGE_KEY = "siliconflow-gateway.access-token.v1";

/** The gateway reads `Bearer <token>` with no whitespace in the token, and fetch refuses non-Latin-1 header values. */
const SENDABLE = /^[\x21-\x7e]*$/;

export function isSendableToken(token: string): boolean {
  return SENDABLE.test(token);
}

export class TokenStore {
  constructor(private readonly storage: Storage | null) {}

  read(): string {
    try {
      return this.storage?.getItem(STORAGE_KEY) ?? "";
    } catch {
      return "";
    }
  }

  write(token: string): void {
    try {
      if (token === "") this.storage?.removeItem(STORAGE_KEY);
      else this.storage?.setItem(STORAGE_KEY, token);
    } catch {
      // Storage blocked: the token still works until the page is left.
    }
  }
}

/** sessionStorage itself can throw on access when the browser blocks storage. */
export function tabStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
