import { describe, expect, it } from "vitest";
import { describeRedisFailure } from "../../src/limits/shared-redis.js";

describe("describeRedisFailure", () => {
  it("names the failure without Redis's address", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.1.2.3:6379"), { code: "ECONNREFUSED" });
    expect(describeRedisFailure(refused)).toBe("Redis refused the connection (ECONNREFUSED)");
    expect(describeRedisFailure(new Error("Command timed out"))).toBe("Command timed out");
    expect(describeRedisFailure(new Error("getaddrinfo EAI_AGAIN redis.internal:6380 failed"))).toBe("getaddrinfo EAI_AGAIN <address> failed");
    expect(describeRedisFailure(new Error("connect to [::1]:6379 failed"))).not.toContain("6379");
  });
});
