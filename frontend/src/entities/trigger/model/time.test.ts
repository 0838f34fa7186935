import { describe, expect, it } from "vitest";
import { COMMON_TIME_ZONES, formatInZone, isTimeZone, sameWallClock } from "./time";

describe("isTimeZone", () => {
  it("accepts zone names as the zone database spells them", () => {
    for (const z of ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+1"])
      expect(isTimeZone(z)).toBe(true);
  });

  it("rejects unknown names and the spellings the server would not match", () => {
    for (const z of ["", "Nowhere/Special", "europe/berlin", "Europe/Berlin ", "Mars"])
      expect(isTimeZone(z)).toBe(false);
  });

  it("knows every zone it offers", () => {
    expect(COMMON_TIME_ZONES.filter((z) => !isTimeZone(z))).toEqual([]);
  });
});

describe("formatInZone", () => {
  const iso = "2026-11-30T08:00:00.0786Z";
  it("reads an instant in the given zone, naming the zone", () => {
    expect(formatInZone(iso, "UTC", "en-GB")).toBe("Mon 30 Nov, 08:00 UTC");
    expect(formatInZone(iso, "Asia/Tokyo", "en-GB")).toBe("Mon 30 Nov, 17:00 GMT+9");
  });

  it("gives back what it cannot read", () => {
    expect(formatInZone("soon", "UTC", "en-GB")).toBe("soon");
  });
});

describe("sameWallClock", () => {
  const iso = "2026-06-01T12:00:00Z";
  it("tells zones apart only when their clocks differ at that instant", () => {
    expect(sameWallClock(iso, "Europe/Berlin", "Europe/Berlin")).toBe(true);
    expect(sameWallClock(iso, "Europe/Berlin", "Europe/Paris")).toBe(true);
    expect(sameWallClock(iso, "Europe/Berlin", "UTC")).toBe(false);
  });
});
