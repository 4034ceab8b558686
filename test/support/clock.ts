/**
 * Tests that do not expire. Loaded by both suites' mocha configs (`require`), so it runs in mocha's
 * main process and its parallel workers, and its environment reaches every process a test spawns
 * (the served policy pack, the plan and service CLIs):
 *  - `PYAIRTABLE_WALL_CLOCK=forbidden`: any EKS support-calendar verdict taken on the wall clock
 *    throws (`calendarDay`, lib/catalog/eksVersions.ts), so a test that forgot to pin its day fails
 *    today, not on the day the calendar moves past the stacks' version;
 *  - `PYAIRTABLE_EVALUATION_DATE` is cleared: a developer's shell cannot pin the day for every test
 *    and hide one that reads the clock.
 * Tests pin `testEvaluationDate` (plans, reviews, policy configs, cost estimates) or a day of their own.
 */
import { evaluationDateEnv, wallClockEnv } from "../../lib/catalog/eksVersions";

process.env[wallClockEnv] = "forbidden";
delete process.env[evaluationDateEnv];

/**
 * The day the tests judge the shipped stacks on: Kubernetes 1.35 (both stacks) is in EKS standard
 * support until 2027-03-26, and the calendar's dates around it are tested on days of their own.
 */
export const testEvaluationDate = "2026-12-01";
