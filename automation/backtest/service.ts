/**
 * What the backtest needs to know about a service: its replica range, its target utilisation, the
 * business-hours schedule and floor, all read from the stack file (`Pulumi.<stack>.yaml`:
 * `autoscaling:services`, `autoscaling:schedules`, `autoscaling:workloads`) and the catalog.
 * The stack file is read as YAML (no Pulumi runtime needed).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { serviceNames } from "../../lib/catalog/services";
import { targetUtilizationOf } from "../predictiveSettings";
import { businessHoursFloor } from "../../lib/scaling/workloads";
import { checkCalendarOptions, type CalendarOptions } from "../forecast/calendar";

export interface ServiceContext {
  readonly name: string;
  readonly range: { readonly min: number; readonly max: number };
  /** Target utilisation u: the catalog's CPU target, or 0.7 when the service has none. */
  readonly targetUtilization: number;
  readonly targetSource: string;
  /** The stack's schedule (time zone, business hours, holidays). */
  readonly calendar: CalendarOptions;
  /** Replicas held during business hours by the scheduled profile. */
  readonly businessHoursFloor: number;
  readonly businessHoursFloorPercent: number;
  readonly stack: string;
}

export { defaultTargetUtilization } from "../predictiveSettings";

export function loadServiceContext(projectDir: string, stack: string, service: string): ServiceContext {
  if (!serviceNames.includes(service as never)) throw new Error(`unknown service '${service}' (known: ${serviceNames.join(", ")})`);
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const config = doc?.config ?? {};
  const get = (key: string) => config[`autoscaling:${key}`] ?? config[key];
  const services = get("services") as Record<string, { minReplicas?: unknown; maxReplicas?: unknown }> | undefined;
  const range = services?.[service];
  const min = range?.minReplicas;
  const max = range?.maxReplicas;
  if (typeof min !== "number" || typeof max !== "number" || !Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1 || min > max) {
    throw new Error(`${file}: autoscaling:services.${service} must have integer minReplicas ≤ maxReplicas (got ${JSON.stringify(range)})`);
  }
  const schedules = get("schedules") as { timezone?: string; businessHours?: CalendarOptions["businessHours"]; holidays?: string[] } | undefined;
  const calendar: CalendarOptions = {
    timezone: schedules?.timezone ?? "UTC",
    businessHours: schedules?.businessHours ?? { start: "08:00", end: "18:00", days: ["mon", "tue", "wed", "thu", "fri"] },
    holidays: schedules?.holidays ?? [],
  };
  const problems = checkCalendarOptions(calendar, "autoscaling:schedules");
  if (problems.length) throw new Error(`${file}: ${problems.join("; ")}`);
  const workloads = get("workloads") as { businessHoursFloorPercent?: unknown } | undefined;
  const pct = typeof workloads?.businessHoursFloorPercent === "number" ? workloads.businessHoursFloorPercent : 0;
  const { u: targetUtilization, source: targetSource } = targetUtilizationOf(service);
  return {
    name: service,
    range: { min, max },
    targetUtilization,
    targetSource,
    calendar,
    businessHoursFloor: businessHoursFloor({ minReplicas: min, maxReplicas: max }, { istioSidecars: false, businessHoursFloorPercent: pct }),
    businessHoursFloorPercent: pct,
    stack,
  };
}
