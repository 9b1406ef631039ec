// The story's words, one catalogue per language: en/ and zh/ hold the same modules with the same
// exports, and the compiler holds them to it (a function or table missing from zh/ is an error
// here). Renderers ask words() for the process's language, or words('zh') for one in particular.
import { catalogue } from '../../lang.ts';
import * as enCache from './en/cache.ts';
import * as enDns from './en/dns.ts';
import * as enFields from './en/fields.ts';
import * as enOrder from './en/order.ts';
import * as enTcpStates from './en/tcp-states.ts';
import * as enTcp from './en/tcp.ts';
import * as enTls from './en/tls.ts';
import * as zhCache from './zh/cache.ts';
import * as zhDns from './zh/dns.ts';
import * as zhFields from './zh/fields.ts';
import * as zhOrder from './zh/order.ts';
import * as zhTcpStates from './zh/tcp-states.ts';
import * as zhTcp from './zh/tcp.ts';
import * as zhTls from './zh/tls.ts';

export const words = catalogue(
  'story',
  { cache: enCache, dns: enDns, fields: enFields, order: enOrder, tcp: enTcp, tcpStates: enTcpStates, tls: enTls },
  { cache: zhCache, dns: zhDns, fields: zhFields, order: zhOrder, tcp: zhTcp, tcpStates: zhTcpStates, tls: zhTls },
);
export type Words = ReturnType<typeof words>;
