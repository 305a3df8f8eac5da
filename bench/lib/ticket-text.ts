import type { Random } from './random.js';
import type { TopicName } from './ticket-vocabulary.js';
import * as words from './ticket-vocabulary.js';

/**
 * Titles, descriptions, tags and message bodies of generated tickets, written the way
 * requesters and agents write them: a topic (access, network, software, hardware) decides
 * the title, the tags and the team; sentences draw on the word lists with a long-tailed skew.
 */

export interface TicketText {
  topic: TopicName;
  title: string;
  description: string;
  tags: string[];
}

export type MessageKind = 'agent' | 'requester' | 'internal';

const TOPIC_WEIGHTS = words.TOPICS.map((topic) => topic.weight);

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export class TicketTextGenerator {
  constructor(private readonly random: Random) {}

  ticket(): TicketText {
    const topic = words.TOPICS[this.random.weighted(TOPIC_WEIGHTS)]!.name;
    const sentenceCount = 1 + this.random.int(4);
    const sentences = [this.opening(topic)];
    for (let index = 1; index < sentenceCount; index += 1) sentences.push(this.detail());
    if (this.random.chance(0.3)) sentences.push(this.random.pick(CLOSINGS)(this));
    return { topic, title: this.title(topic), description: sentences.join(' '), tags: this.tags(topic) };
  }

  /** One to three sentences in the voice of `kind`. */
  message(kind: MessageKind): string {
    const templates = kind === 'agent' ? AGENT : kind === 'requester' ? REQUESTER : INTERNAL;
    const count = 1 + this.random.int(3);
    const sentences: string[] = [];
    for (let index = 0; index < count; index += 1) sentences.push(this.random.pick(templates)(this));
    return sentences.join(' ');
  }

  title(topic: TopicName): string {
    return capitalise(this.random.pick(TITLES[topic])(this));
  }

  tags(topic: TopicName): string[] {
    const tags = new Set<string>();
    const count = this.random.weighted([0.25, 0.45, 0.22, 0.08]);
    for (let index = 0; index < count; index += 1) tags.add(this.random.skewed(words.TAGS[topic], 1.6));
    if (count > 0 && this.random.chance(0.15)) tags.add(this.random.skewed(words.GENERIC_TAGS, 1.6));
    return [...tags];
  }

  private opening(topic: TopicName): string {
    return capitalise(this.random.pick(OPENINGS[topic])(this));
  }

  private detail(): string {
    return capitalise(this.random.pick(DETAILS)(this));
  }

  // Slot fillers, used by the templates below.
  software = () => this.random.skewed(words.SOFTWARE);
  hardware = () => this.random.skewed(words.HARDWARE);
  brand = () => this.random.skewed(words.BRANDS);
  softwareProblem = () => this.random.skewed(words.SOFTWARE_PROBLEMS, 1.6);
  hardwareProblem = () => this.random.skewed(words.HARDWARE_PROBLEMS, 1.6);
  networkProblem = () => this.random.skewed(words.NETWORK_PROBLEMS, 1.6);
  department = () => this.random.skewed(words.DEPARTMENTS, 1.5);
  location = () => this.random.skewed(words.LOCATIONS, 1.8);
  room = () => this.random.pick(words.ROOMS);
  time = () => this.random.pick(words.TIMES);
  business = () => this.random.pick(words.BUSINESS);
  weekday = () => this.random.pick(words.WEEKDAYS);
  cause = () => this.random.pick(words.CAUSES);
  team = () => this.random.pick(words.TEAMS);
  person = () => `${this.random.skewed(words.FIRST_NAMES, 1.3)} ${this.random.skewed(words.LAST_NAMES, 1.3)}`;
  firstName = () => this.random.skewed(words.FIRST_NAMES, 1.3);
  code = () => this.random.skewed(words.ERROR_CODES, 1.2);
  /** Laptop names: 30,000 of them, so one name matches a handful of tickets. */
  host = () => `lt-${String(Math.floor(30_000 * this.random.next() ** 1.5)).padStart(5, '0')}`;
  server = () =>
    `srv-${this.random.skewed(words.SERVER_ROLES, 1.5)}-${String(1 + this.random.int(40)).padStart(2, '0')}`;
  printer = () => `prn-${1 + this.random.int(12)}-${String(1 + this.random.int(20)).padStart(2, '0')}`;
  share = () => this.random.skewed(words.SHARES, 1.5);
  feature = () => this.random.skewed(words.FEATURES, 1.8);
  document = () => this.random.skewed(words.DOCUMENTS, 1.8);
  floor = () => String(1 + this.random.int(12));
  asset = () => `it-${100_000 + this.random.int(900_000)}`;
  version = () => `${1 + this.random.int(24)}.${this.random.int(10)}.${this.random.int(5000)}`;
  ticketNumber = () => `${100_000 + this.random.int(900_000)}`;
  clock = () =>
    `${String(this.random.int(24)).padStart(2, '0')}:${String(this.random.int(60)).padStart(2, '0')}`;
  extension = () => String(2000 + this.random.int(8000));
  /** A list entry with its `{slot}`s filled. */
  fill = (template: string) =>
    template.replace(/\{(\w+)\}/g, (_, slot: string) => (this[slot as Slot] as () => string)());
  accessRequest = () => this.fill(this.random.skewed(words.ACCESS_REQUESTS, 1.6));
  networkRequest = () => this.fill(this.random.skewed(words.NETWORK_REQUESTS, 1.6));
  softwareRequest = () => this.fill(this.random.skewed(words.SOFTWARE_REQUESTS, 1.6));
  fix = () => this.fill(this.random.pick(words.FIXES));
  agentAction = () => this.fill(this.random.pick(words.AGENT_ACTIONS));
}

type Slot =
  | 'document'
  | 'feature'
  | 'software'
  | 'hardware'
  | 'host'
  | 'server'
  | 'share'
  | 'department'
  | 'location'
  | 'brand'
  | 'printer';
type Template = (text: TicketTextGenerator) => string;

const TITLES: Record<TopicName, Template[]> = {
  access: [
    (t) => `cannot ${t.accessRequest()}`,
    (t) => `need help to ${t.accessRequest()}`,
    (t) => `account locked out ${t.time()}`,
    (t) => `${t.software()} login ${t.softwareProblem()}`,
    (t) => `request: access to ${t.software()} for ${t.person()}`,
    (t) => `mfa code rejected when signing in to ${t.software()}`,
    (t) => `password expired on ${t.host()}`,
    (t) => `new starter in ${t.department()} needs an account`,
    (t) => `leaver: disable the account of ${t.person()}`,
  ],
  network: [
    (t) => `vpn ${t.networkProblem()}`,
    (t) => `wifi ${t.networkProblem()} in the ${t.location()}`,
    (t) => `cannot ${t.networkRequest()}`,
    (t) => `network drive ${t.share()} ${t.networkProblem()}`,
    (t) => `${t.server()} ${t.networkProblem()}`,
    (t) => `slow network in the ${t.location()}`,
    (t) => `no internet on ${t.host()}`,
    (t) => `${t.code()} when connecting to ${t.server()}`,
  ],
  software: [
    (t) => `${t.software()} ${t.softwareProblem()}`,
    (t) => `${t.software()} ${t.softwareProblem()} after the update`,
    (t) => `${t.code()} in ${t.software()}`,
    (t) => `cannot ${t.softwareRequest()}`,
    (t) => `request: ${t.software()} license for ${t.person()}`,
    (t) => `${t.software()} ${t.softwareProblem()} on ${t.host()}`,
    (t) => `please ${t.softwareRequest()}`,
    (t) => `${t.software()} ${t.feature()} ${t.softwareProblem()}`,
    (t) => `cannot open the ${t.document()} in ${t.software()}`,
  ],
  hardware: [
    (t) => `${t.hardware()} ${t.hardwareProblem()}`,
    (t) => `${t.brand()} ${t.hardware()} ${t.hardwareProblem()}`,
    (t) => `request: new ${t.hardware()} for ${t.department()}`,
    (t) => `${t.hardware()} in meeting room ${t.room()} ${t.hardwareProblem()}`,
    (t) => `printer ${t.printer()} ${t.hardwareProblem()}`,
    (t) => `${t.hardware()} ${t.hardwareProblem()} ${t.time()}`,
  ],
};

const OPENINGS: Record<TopicName, Template[]> = {
  access: [
    (t) => `${t.time()} I cannot ${t.accessRequest()}.`,
    (t) => `when I try to ${t.accessRequest()} I get ${t.code()}.`,
    (t) => `${t.software()} ${t.softwareProblem()} every time I try to sign in.`,
    (t) => `could you please help me ${t.accessRequest()}? I need it for the ${t.business()}.`,
    (t) =>
      `${t.person()} starts in ${t.department()} on ${t.weekday()} and needs access to ${t.software()} and the ${t.share()} share.`,
  ],
  network: [
    (t) => `${t.time()} the vpn ${t.networkProblem()} when I work from the ${t.location()}.`,
    (t) => `the wifi in the ${t.location()} ${t.networkProblem()}, on floor ${t.floor()}.`,
    (t) => `I cannot ${t.networkRequest()}, the browser shows ${t.code()}.`,
    (t) => `${t.server()} ${t.networkProblem()} for everyone in ${t.department()}.`,
  ],
  software: [
    (t) => `${t.time()} ${t.software()} ${t.softwareProblem()}.`,
    (t) => `${t.software()} ${t.softwareProblem()} when I try to ${t.softwareRequest()}.`,
    (t) => `I get ${t.code()} in ${t.software()} version ${t.version()}.`,
    (t) => `could you please ${t.softwareRequest()} on ${t.host()}?`,
    (t) => `the ${t.feature()} in ${t.software()} ${t.softwareProblem()} since the last update.`,
    (t) => `I need the ${t.document()} for the ${t.business()} but ${t.software()} ${t.softwareProblem()}.`,
  ],
  hardware: [
    (t) => `${t.time()} my ${t.hardware()} ${t.hardwareProblem()}.`,
    (t) => `the ${t.brand()} ${t.hardware()} in meeting room ${t.room()} ${t.hardwareProblem()}.`,
    (t) => `printer ${t.printer()} in the ${t.location()} ${t.hardwareProblem()}.`,
    (t) => `I need a new ${t.hardware()} for ${t.person()} in ${t.department()}.`,
  ],
};

const DETAILS: Template[] = [
  (t) => `this happens on ${t.host()} in the ${t.location()}.`,
  (t) => `I already tried ${t.fix()} but it did not help.`,
  (t) => `my colleague ${t.person()} from ${t.department()} has the same problem.`,
  (t) => `it is blocking the ${t.business()} for ${t.department()}, so it is quite urgent.`,
  (t) => `the device is a ${t.brand()} ${t.hardware()} with asset tag ${t.asset()}.`,
  (t) => `the error message says ${t.code()}.`,
  (t) => `it started ${t.time()} and happens about every hour.`,
  (t) => `I am using ${t.software()} ${t.version()} on ${t.host()}.`,
  (t) => `it works fine from the ${t.location()} but not from the ${t.location()}.`,
  (t) => `I was working on the ${t.document()} when it happened.`,
  (t) => `the ${t.feature()} seems to be the trigger.`,
];

const CLOSINGS: Template[] = [
  () => 'Screenshot attached.',
  () => 'Thanks in advance!',
  (t) => `You can reach me on extension ${t.extension()}.`,
  (t) => `I am in the ${t.location()} until ${t.weekday()}.`,
];

const AGENT: Template[] = [
  (t) => `Hi ${t.firstName()}, thanks for reporting this.`,
  (t) => `Could you try ${t.fix()} and tell me whether it still happens?`,
  (t) => `I have ${t.agentAction()}, please try again.`,
  (t) => `This is a known issue with ${t.software()} ${t.version()}, a fix is planned for ${t.weekday()}.`,
  (t) => `Could you send a screenshot of the error and the name of the machine, e.g. ${t.host()}?`,
  (t) => `I will come by the ${t.location()} on ${t.weekday()} to look at the ${t.hardware()}.`,
  () => 'I am resolving this ticket now; just reply if the problem comes back.',
  (t) => `The replacement ${t.hardware()} is ready for pickup at the ${t.location()} reception.`,
];

const REQUESTER: Template[] = [
  (t) => `Still the same after ${t.fix()}.`,
  () => 'That worked, thank you!',
  (t) => `Now it says ${t.code()}.`,
  (t) => `I am in the ${t.location()} until ${t.weekday()}, any time works.`,
  (t) => `It happened again this morning on ${t.host()}.`,
  (t) => `Any update on this? It is still blocking the ${t.business()}.`,
  (t) => `${t.person()} confirms it works for them now.`,
];

const INTERNAL: Template[] = [
  (t) => `Escalated to ${t.team()}: looks like ${t.cause()} on ${t.server()}.`,
  (t) => `Checked the logs on ${t.server()}: ${t.code()} at ${t.clock()}.`,
  (t) => `Vendor case ${t.ticketNumber()} opened with ${t.brand()}.`,
  (t) => `Known issue since the ${t.software()} rollout, waiting for the patch.`,
  (t) => `Replacement ${t.hardware()} ordered, purchase order ${t.ticketNumber()}.`,
  (t) => `Root cause: ${t.cause()}.`,
];
