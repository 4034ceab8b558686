/**
 * Local time in an IANA time zone, for the calendar features of the models (hour of day, day of
 * week, business hours, holidays). Offsets are looked up once per UTC hour (time-zone transitions
 * happen on UTC hour or half-hour boundaries; we cache per hour and per half hour to be exact).
 */

export const weekdayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof weekdayNames)[number];

export interface CalendarOptions {
  /** IANA time zone of the business hours and holidays, e.g. "UTC" or "America/New_York". */
  readonly timezone: string;
  readonly businessHours: {
    /** "HH:MM", inclusive. */
    readonly start: string;
    /** "HH:MM", exclusive. */
    readonly end: string;
    readonly days: readonly Weekday[];
  };
  /** Local dates "YYYY-MM-DD" treated as holidays (not business days). */
  readonly holidays: readonly string[];
}

/** The design's business hours: 08:00-18:00 UTC, Monday to Friday, no holidays. */
export const defaultCalendarOptions: CalendarOptions = {
  timezone: "UTC",
  businessHours: { start: "08:00", end: "18:00", days: ["mon", "tue", "wed", "thu", "fri"] },
  holidays: [],
};

const DAY_MS = 86_400_000;
const HALF_HOUR_MS = 1_800_000;

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function parseClock(s: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : s === "24:00" ? 1440 : undefined;
}

/** Problems with calendar options, as "field: message" strings (empty when valid). */
export function checkCalendarOptions(c: CalendarOptions, prefix = "calendar"): string[] {
  const problems: string[] = [];
  if (typeof c.timezone !== "string" || !isValidTimeZone(c.timezone)) problems.push(`${prefix}.timezone = ${JSON.stringify(c.timezone)}: must be an IANA time zone such as UTC or Europe/Berlin`);
  const start = parseClock(c.businessHours?.start);
  const end = parseClock(c.businessHours?.end);
  if (start === undefined) problems.push(`${prefix}.businessHours.start = ${JSON.stringify(c.businessHours?.start)}: must be HH:MM`);
  if (end === undefined) problems.push(`${prefix}.businessHours.end = ${JSON.stringify(c.businessHours?.end)}: must be HH:MM`);
  if (start !== undefined && end !== undefined && start >= end) problems.push(`${prefix}.businessHours.end = ${c.businessHours.end}: must be after start (${c.businessHours.start})`);
  for (const d of c.businessHours?.days ?? []) if (!weekdayNames.includes(d)) problems.push(`${prefix}.businessHours.days: '${d}' is not one of ${weekdayNames.join(", ")}`);
  for (const h of c.holidays ?? []) if (!/^\d{4}-\d{2}-\d{2}$/.test(h) || Number.isNaN(Date.parse(`${h}T00:00:00Z`))) problems.push(`${prefix}.holidays: '${h}' is not a date YYYY-MM-DD`);
  return problems;
}

export interface LocalTime {
  /** 0 = Monday … 6 = Sunday. */
  readonly dow: number;
  /** Minutes since local midnight, 0-1439 (fractional for sub-minute times). */
  readonly minuteOfDay: number;
  /** Local calendar day number (days since 1970-01-01 in local time). */
  readonly day: number;
}

export class Calendar {
  readonly options: CalendarOptions;
  private readonly utc: boolean;
  private readonly fmt: Intl.DateTimeFormat | undefined;
  private readonly offsets = new Map<number, number>();
  private readonly holidayDays: Set<number>;
  private readonly businessDow: boolean[];
  private readonly startMin: number;
  private readonly endMin: number;

  constructor(options: CalendarOptions = defaultCalendarOptions) {
    const problems = checkCalendarOptions(options);
    if (problems.length) throw new Error(`invalid calendar: ${problems.join("; ")}`);
    this.options = options;
    this.utc = options.timezone === "UTC" || options.timezone === "Etc/UTC";
    this.fmt = this.utc
      ? undefined
      : new Intl.DateTimeFormat("en-US", { timeZone: options.timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    this.holidayDays = new Set(options.holidays.map((d) => Math.round(Date.parse(`${d}T00:00:00Z`) / DAY_MS)));
    this.businessDow = weekdayNames.map((d) => options.businessHours.days.includes(d));
    this.startMin = parseClock(options.businessHours.start)!;
    this.endMin = parseClock(options.businessHours.end)!;
  }

  /** Offset of local time from UTC at `t`, ms. */
  offsetMs(t: number): number {
    if (this.utc) return 0;
    const key = Math.floor(t / HALF_HOUR_MS);
    let off = this.offsets.get(key);
    if (off === undefined) {
      const at = key * HALF_HOUR_MS;
      const parts: Record<string, number> = {};
      for (const p of this.fmt!.formatToParts(new Date(at))) if (p.type !== "literal") parts[p.type] = Number(p.value);
      const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour! % 24, parts.minute!, parts.second!);
      off = asUtc - at;
      this.offsets.set(key, off);
    }
    return off;
  }

  local(t: number): LocalTime {
    const lt = t + this.offsetMs(t);
    const day = Math.floor(lt / DAY_MS);
    const minuteOfDay = (lt - day * DAY_MS) / 60_000;
    // 1970-01-01 was a Thursday (dow 3 with Monday = 0).
    const dow = (((day + 3) % 7) + 7) % 7;
    return { dow, minuteOfDay, day };
  }

  isHoliday(t: number): boolean {
    return this.holidayDays.size > 0 && this.holidayDays.has(this.local(t).day);
  }

  /** A configured weekday that is not a holiday. */
  isBusinessDay(t: number): boolean {
    const l = this.local(t);
    return this.businessDow[l.dow]! && !this.holidayDays.has(l.day);
  }

  /** Within business hours on a business day. */
  isBusinessHours(t: number): boolean {
    const l = this.local(t);
    return this.businessDow[l.dow]! && !this.holidayDays.has(l.day) && l.minuteOfDay >= this.startMin && l.minuteOfDay < this.endMin;
  }

  /** Any holiday within [fromMs, toMs)? */
  hasHolidayBetween(fromMs: number, toMs: number): boolean {
    if (this.holidayDays.size === 0) return false;
    const a = this.local(fromMs).day;
    const b = this.local(toMs - 1).day;
    for (const d of this.holidayDays) if (d >= a && d <= b) return true;
    return false;
  }
}
