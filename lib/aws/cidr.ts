/** IPv4 CIDR arithmetic for the subnet layout (pure, tested). */

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) throw new Error(`'${text}' is not an IPv4 CIDR block`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new Error(`'${text}' is not an IPv4 CIDR block`);
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) throw new Error(`'${text}' has host bits set (network address is ${formatCidr({ network: address - (address % size), prefix })})`);
  return { network: address, prefix };
}

export function formatCidr(c: Cidr): string {
  const o = [24, 16, 8, 0].map((shift) => Math.floor(c.network / 2 ** shift) % 256);
  return `${o.join(".")}/${c.prefix}`;
}

/** The `index`-th block of size `/newPrefix` inside `parent`. */
export function subdivide(parent: Cidr, newPrefix: number, index: number): Cidr {
  if (newPrefix < parent.prefix || newPrefix > 32) throw new Error(`cannot carve a /${newPrefix} out of a /${parent.prefix}`);
  const count = 2 ** (newPrefix - parent.prefix);
  if (index < 0 || index >= count) throw new Error(`a /${parent.prefix} holds ${count} /${newPrefix} blocks; index ${index} is out of range`);
  return { network: parent.network + index * 2 ** (32 - newPrefix), prefix: newPrefix };
}

export interface SubnetLayout {
  /** One private subnet per AZ: a quarter of the VPC each (EKS pods take VPC addresses via the VPC CNI). */
  readonly privateCidrs: string[];
  /** One small public subnet per AZ (load balancers and NAT gateways), in the last quarter. */
  readonly publicCidrs: string[];
}

/**
 * Private subnets take quarters 0..n-1 of the VPC, public subnets /(prefix+6) blocks of the last
 * quarter; nothing overlaps for up to 3 AZs.
 */
export function planSubnets(vpcCidr: string, azCount: number): SubnetLayout {
  const vpc = parseCidr(vpcCidr);
  if (vpc.prefix > 20) throw new Error(`VPC ${vpcCidr} is too small: use a /20 or larger`);
  if (azCount < 1 || azCount > 3) throw new Error(`the subnet layout supports 1-3 AZs, not ${azCount}`);
  const lastQuarter = subdivide(vpc, vpc.prefix + 2, 3);
  return {
    privateCidrs: Array.from({ length: azCount }, (_, i) => formatCidr(subdivide(vpc, vpc.prefix + 2, i))),
    publicCidrs: Array.from({ length: azCount }, (_, i) => formatCidr(subdivide(lastQuarter, vpc.prefix + 6, i))),
  };
}
