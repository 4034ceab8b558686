/**
 * The Amazon EKS Kubernetes version calendar: when each minor version became available on EKS, when
 * its standard support ends (from then the control plane bills extended support, $0.60 instead of
 * $0.10 per cluster hour: prices `eks.cluster.extendedSupport.hour` and `eks.cluster.hour` in
 * data/prices-us-east-1.json) and when extended support ends (EKS then upgrades the cluster itself).
 *
 * Source: AWS, "Understand the Kubernetes version lifecycle on EKS", section "Amazon EKS Kubernetes
 * release calendar" (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html; the
 * page's source is awsdocs/amazon-eks-user-guide). Rules stated there: standard support lasts 14
 * months from the EKS release, extended support the 12 months after; "billing for extended support
 * starts at the beginning of the day that the version reaches end of standard support".
 * Each row says how it was checked (`source`): there is no network here, so the rows come from the
 * stored copies the `search` tool returns, and rows not on the AWS page itself say so.
 *
 * Not listed: 1.36. The EKS AL2023 AMIs are built for 1.36 since release v20260610
 * (awslabs/amazon-eks-ami CHANGELOG), so EKS offers it, but none of the stored copies of the AWS
 * calendar shows its dates. A version missing here is refused by the settings: add its row (with its
 * source) in a reviewed change before a stack moves to it.
 */

/** A calendar date, `YYYY-MM-DD` (UTC day). */
export type IsoDate = `${number}-${number}-${number}`;

export interface EksVersion {
  /** Kubernetes minor version as EKS names it, e.g. "1.35". */
  readonly version: string;
  /** Day the version became available on Amazon EKS. */
  readonly eksRelease: IsoDate;
  /** First day billed as extended support (standard support ends at the start of this day). */
  readonly endOfStandardSupport: IsoDate;
  /** End of extended support: EKS auto-upgrades clusters still on the version. */
  readonly endOfExtendedSupport: IsoDate;
  /** Where the dates were read, and how far they could be checked. */
  readonly source: string;
}

const awsCalendarDec2024 =
  "AWS EKS user guide, release calendar table (awsdocs/amazon-eks-user-guide 4d52b4d, latest/ug/clusters/kubernetes-versions.adoc, 2024-12-18)";
const endOfLifeDate =
  "endoflife.date/amazon-eks (built from the AWS calendar; stored copy of 2026-02); end of standard support for 1.33 and 1.34 also stated in issue 12";

/** Oldest first. */
export const eksVersionCalendar: readonly EksVersion[] = [
  { version: "1.28", eksRelease: "2023-09-26", endOfStandardSupport: "2024-11-26", endOfExtendedSupport: "2025-11-26", source: awsCalendarDec2024 },
  { version: "1.29", eksRelease: "2024-01-23", endOfStandardSupport: "2025-03-23", endOfExtendedSupport: "2026-03-23", source: awsCalendarDec2024 },
  { version: "1.30", eksRelease: "2024-05-23", endOfStandardSupport: "2025-07-23", endOfExtendedSupport: "2026-07-23", source: awsCalendarDec2024 },
  { version: "1.31", eksRelease: "2024-09-26", endOfStandardSupport: "2025-11-26", endOfExtendedSupport: "2026-11-26", source: awsCalendarDec2024 },
  // Release days of 1.32-1.35 are endoflife.date's (the first EKS platform version); AWS's own table was not in a stored copy.
  { version: "1.32", eksRelease: "2025-01-25", endOfStandardSupport: "2026-03-23", endOfExtendedSupport: "2027-03-23", source: endOfLifeDate },
  { version: "1.33", eksRelease: "2025-05-28", endOfStandardSupport: "2026-07-29", endOfExtendedSupport: "2027-07-29", source: endOfLifeDate },
  { version: "1.34", eksRelease: "2025-10-06", endOfStandardSupport: "2026-12-02", endOfExtendedSupport: "2027-12-02", source: endOfLifeDate },
  // endoflife.date: released 2026-01-28 (platform version 1.35-eks-3 dated 2026-01-27); the end dates follow the 14 + 12 month rule.
  { version: "1.35", eksRelease: "2026-01-28", endOfStandardSupport: "2027-03-27", endOfExtendedSupport: "2028-03-27", source: endOfLifeDate },
];

/** Versions the calendar knows, oldest first. */
export const eksCalendarVersions: readonly string[] = eksVersionCalendar.map((v) => v.version);

/** The calendar row of `version`, or undefined when the calendar does not list it. */
export function eksVersion(version: string): EksVersion | undefined {
  return eksVersionCalendar.find((v) => v.version === version);
}

/** Where a version stands on a day. */
export type EksSupportPhase = "standard" | "extended" | "ended";

/** The UTC calendar day of `at`, `YYYY-MM-DD`. */
export function isoDay(at: Date): IsoDate {
  if (Number.isNaN(at.getTime())) throw new RangeError(`not a valid date: ${String(at)}`);
  return at.toISOString().slice(0, 10) as IsoDate;
}

/** Parses `YYYY-MM-DD` strictly (a real calendar day), or throws naming the value. */
export function parseIsoDay(text: string, what = "date"): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!d || isoDay(d) !== text) throw new RangeError(`${what} = ${JSON.stringify(text)}: must be a calendar date YYYY-MM-DD`);
  return d;
}

/**
 * The support phase of `v` on the UTC day of `asOf`: extended from the first day of
 * `endOfStandardSupport` (AWS bills extended support from the beginning of that day), ended from
 * `endOfExtendedSupport`.
 */
export function supportPhase(v: EksVersion, asOf: Date): EksSupportPhase {
  const day = isoDay(asOf);
  if (day >= v.endOfExtendedSupport) return "ended";
  if (day >= v.endOfStandardSupport) return "extended";
  return "standard";
}

/** Whole days from the UTC day of `asOf` to the end of standard support (negative once past it). */
export function daysOfStandardSupportLeft(v: EksVersion, asOf: Date): number {
  const today = parseIsoDay(isoDay(asOf));
  return Math.round((parseIsoDay(v.endOfStandardSupport).getTime() - today.getTime()) / 86_400_000);
}

/** Days before the end of standard support from which the settings warn. */
export const standardSupportWarningDays = 60;

/**
 * Pins the day every EKS-calendar judgement without a date of its own is made on: the program's
 * settings warnings, the cost model's control-plane line, the pack's `eks-version-in-standard-support`
 * and `cost-within-budget` when their `evaluationDate` config is empty. Set by the offline plan's
 * `--evaluation-date`; unset in a real `pulumi preview`/`up`, which judges the real day.
 */
export const evaluationDateEnv = "PYAIRTABLE_EVALUATION_DATE";

/**
 * Set to `forbidden` by the test suites (test/support/clock.ts, inherited by the served pack and the
 * CLIs they spawn): reading the wall clock for an EKS-calendar verdict then throws, so every test pins
 * its evaluation date and no verdict expires with the calendar.
 */
export const wallClockEnv = "PYAIRTABLE_WALL_CLOCK";

export class WallClockReadError extends Error {
  constructor(what: string) {
    super(
      `${what} read the wall clock for an EKS support-calendar verdict while ${wallClockEnv}=forbidden: ` +
        `pin the day (an evaluationDate in the policy config, estimateCost's asOf, the plan's --evaluation-date or ${evaluationDateEnv})`,
    );
    this.name = "WallClockReadError";
  }
}

/**
 * The day to judge the EKS calendar on when the caller names none: `$PYAIRTABLE_EVALUATION_DATE`
 * when set (a bad value throws naming it), else now, unless the wall clock is forbidden (tests).
 */
export function calendarDay(what = "a calendar judgement"): Date {
  const pinned = process.env[evaluationDateEnv];
  if (pinned) return parseIsoDay(pinned, evaluationDateEnv);
  if (process.env[wallClockEnv] === "forbidden") throw new WallClockReadError(what);
  return new Date();
}
