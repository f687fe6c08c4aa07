/**
 * Where the gateway is in its life. Load balancers read it through `/ready`, the `health` query says DOWN
 * once it drains, and a draining gateway starts no new generation while the calls it has finish.
 */
export class Lifecycle {
  private current: "starting" | "ready" | "draining" = "starting";

  get state(): "starting" | "ready" | "draining" {
    return this.current;
  }

  get draining(): boolean {
    return this.current === "draining";
  }

  /** Listening: traffic may come. */
  ready(): void {
    if (this.current === "starting") this.current = "ready";
  }

  drain(): void {
    this.current = "draining";
  }
}
