import { describe, expect, it } from 'vitest';
import { clientGroup, createFailedAuthLimiter, enclosingNetwork, WIDER_ALLOWANCE } from '../../src/core/auth/failed-auth-limiter.ts';

describe('clientGroup', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ])('%s is limited as %s', (address, group) => {
    expect(clientGroup(address)).toBe(group);
  });
});

describe('createFailedAuthLimiter', () => {
  it('blocks an address at its limit until its window ends', () => {
    let now = 1_000;
    const limiter = createFailedAuthLimiter({ perWindow: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.blockedForMs('a')).toBe(0);
      limiter.recordFailure('a');
    }
    expect(limiter.blockedForMs('a')).toBe(60_000);
    expect(limiter.blockedForMs('b')).toBe(0);
    now += 59_999;
    expect(limiter.blockedForMs('a')).toBe(1);
    now += 1;
    expect(limiter.blockedForMs('a')).toBe(0);
    limiter.recordFailure('a');
    expect(limiter.blockedForMs('a')).toBe(0);
  });

  it('holds at most maxAddresses: when full, the oldest window under its limit makes room', () => {
    let now = 0;
    const limiter = createFailedAuthLimiter({ perWindow: 2, windowMs: 60_000, maxAddresses: 100, now: () => now });
    for (let i = 0; i < 1_000; i++) {
      now++;
      limiter.recordFailure(`client-${i}`);
    }
    // The newest hundred are remembered (a second failure blocks them); the rest were let go.
    limiter.recordFailure('client-999');
    expect(limiter.blockedForMs('client-999')).toBeGreaterThan(0);
    limiter.recordFailure('client-0');
    expect(limiter.blockedForMs('client-0')).toBe(0);
  });

  it('a full table keeps every address at its limit: failing from many other addresses does not reset one’s own count', () => {
    let now = 0;
    const limiter = createFailedAuthLimiter({ perWindow: 2, windowMs: 60_000, maxAddresses: 100, now: () => now });
    limiter.recordFailure('attacker');
    limiter.recordFailure('attacker');
    expect(limiter.blockedForMs('attacker')).toBe(60_000);
    for (let i = 0; i < 10_000; i++) {
      now = 1 + Math.floor(i / 1_000);
      limiter.recordFailure(`churn-${i}`);
    }
    expect(limiter.blockedForMs('attacker')).toBe(60_000 - now);
  });

  it('a table full of blocked addresses: newcomers share one overflow allowance (limit × WIDER_ALLOWANCE), and those blocked stay blocked', () => {
    let now = 0;
    const limiter = createFailedAuthLimiter({ perWindow: 1, windowMs: 60_000, maxAddresses: 10, now: () => now });
    for (let i = 0; i < 10; i++) limiter.recordFailure(`blocked-${i}`);
    for (let i = 0; i < WIDER_ALLOWANCE; i++) {
      expect(limiter.blockedForMs(`newcomer-${i}`)).toBe(0);
      limiter.recordFailure(`newcomer-${i}`);
    }
    expect(limiter.blockedForMs('yet-another-newcomer')).toBe(60_000);
    for (let i = 0; i < 10; i++) expect(limiter.blockedForMs(`blocked-${i}`)).toBe(60_000);
    now += 60_000;
    expect(limiter.blockedForMs('yet-another-newcomer')).toBe(0);
    limiter.recordFailure('yet-another-newcomer');
    expect(limiter.blockedForMs('yet-another-newcomer')).toBe(60_000);
  });
});

describe('IPv6: by /64, and by /48 at a larger allowance', () => {
  it.each([
    ['2001:db8:1:2::/64', '2001:db8:1::/48'],
    ['0:0:0:0::/64', '0:0:0::/48'],
    ['203.0.113.9', undefined],
  ])('%s lies in %s', (group, network) => {
    expect(enclosingNetwork(group)).toBe(network);
  });

  it('rotating through fresh /64s of one /48 is blocked once the /48 reaches limit × WIDER_ALLOWANCE; other /48s are not', () => {
    const perWindow = 3;
    const limiter = createFailedAuthLimiter({ perWindow, windowMs: 60_000, now: () => 0 });
    const inSite = (i: number) => clientGroup(`2001:db8:aa:${i.toString(16)}::1`);
    for (let i = 0; i < perWindow * WIDER_ALLOWANCE; i++) {
      expect(limiter.blockedForMs(inSite(i))).toBe(0);
      limiter.recordFailure(inSite(i));
    }
    expect(limiter.blockedForMs(inSite(0xffff))).toBe(60_000);
    expect(limiter.blockedForMs(clientGroup('2001:db8:bb:1::1'))).toBe(0);
    expect(limiter.blockedForMs(clientGroup('203.0.113.9'))).toBe(0);
  });
});
