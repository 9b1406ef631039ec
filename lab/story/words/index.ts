// The story's words, one catalogue per language: en/ and zh/ hold the same modules with the same
// exports, and the compiler holds them to it (a function or table missing from zh/ is an error
// here). Renderers ask words() for the process's language, or words('zh') for one in particular.
import { catalogue } from '../../lang.ts';
import * as enCache from './en/cache.ts';
import * as enDns from './en/dns.ts';
import * as enFields from './en/fields.ts';
import * as enLayers from './en/layers.ts';
import * as enOrder from './en/order.ts';
import * as enRoles from './en/roles.ts';
import * as enStory from './en/story.ts';
import * as enSummary from './en/summary.ts';
import * as enTcpStates from './en/tcp-states.ts';
import * as enTcp from './en/tcp.ts';
import * as enTls from './en/tls.ts';
import * as zhCache from './zh/cache.ts';
import * as zhDns from './zh/dns.ts';
import * as zhFields from './zh/fields.ts';
import * as zhLayers from './zh/layers.ts';
import * as zhOrder from './zh/order.ts';
import * as zhRoles from './zh/roles.ts';
import * as zhStory from './zh/story.ts';
import * as zhSummary from './zh/summary.ts';
import * as zhTcpStates from './zh/tcp-states.ts';
import * as zhTcp from './zh/tcp.ts';
import * as zhTls from './zh/tls.ts';

export const words = catalogue(
  'story',
  { cache: enCache, dns: enDns, fields: enFields, layers: enLayers, order: enOrder, roles: enRoles, story: enStory, summary: enSummary, tcp: enTcp, tcpStates: enTcpStates, tls: enTls },
  { cache: zhCache, dns: zhDns, fields: zhFields, layers: zhLayers, order: zhOrder, roles: zhRoles, story: zhStory, summary: zhSummary, tcp: zhTcp, tcpStates: zhTcpStates, tls: zhTls },
);
export type Words = ReturnType<typeof words>;
