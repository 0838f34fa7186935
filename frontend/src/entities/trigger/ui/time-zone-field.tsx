import { useMemo, useState } from "react";
import { Input, Select } from "@/shared/ui";
import { browserTimeZone, COMMON_TIME_ZONES } from "../model/time";

const OTHER = "__other__";

/**
 * A time zone: a list of common zones (and the browser's own), or any other
 * IANA name typed in.
 */
export function TimeZoneField({
  id,
  value,
  onChange,
  invalid,
}: {
  id: string;
  value: string;
  onChange: (zone: string) => void;
  invalid?: boolean;
}) {
  const options = useMemo(() => {
    const mine = browserTimeZone();
    return (COMMON_TIME_ZONES as readonly string[]).includes(mine)
      ? [...COMMON_TIME_ZONES]
      : [mine, ...COMMON_TIME_ZONES];
  }, []);
  const listed = options.includes(value);
  const [typing, setTyping] = useState(!listed && value !== "");
  const mine = browserTimeZone();
  return (
    <div className="space-y-1.5">
      <Select
        id={id}
        value={typing || !listed ? OTHER : value}
        aria-invalid={invalid || undefined}
        onChange={(e) => {
          if (e.target.value === OTHER) {
            setTyping(true);
          } else {
            setTyping(false);
            onChange(e.target.value);
          }
        }}
      >
        {options.map((z) => (
          <option key={z} value={z}>
            {z === mine ? `${z} (your zone)` : z}
          </option>
        ))}
        <option value={OTHER}>Other (type an IANA name)…</option>
      </Select>
      {(typing || !listed) && (
        <Input
          aria-label="Time zone name"
          placeholder="e.g. America/Argentina/Cordoba"
          value={value}
          invalid={invalid}
          onChange={(e) => onChange(e.target.value.trim())}
        />
      )}
    </div>
  );
}
