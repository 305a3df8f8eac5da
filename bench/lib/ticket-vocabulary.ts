/**
 * Word lists of an IT service desk, for generated tickets. Each list runs roughly from common
 * to rare, because Random.skewed draws early items far more often: the first software name
 * turns up in tens of thousands of tickets, the last ones in a few hundred, and generated
 * host names and error codes in a handful. That spread is what makes text search realistic.
 */

const words = (text: string): string[] =>
  text
    .split('|')
    .map((word) => word.trim())
    .filter(Boolean);

export const SOFTWARE = words(`outlook|teams|excel|chrome|onedrive|sharepoint|word|zoom|salesforce|sap|jira|
  powerpoint|edge|adobe acrobat|windows|slack|confluence|workday|servicenow|citrix workspace|remote desktop|
  firefox|okta|globalprotect|forticlient|anyconnect|power bi|tableau|visual studio code|visual studio|
  docker desktop|github desktop|intellij idea|eclipse|oracle client|sql server management studio|dbeaver|
  putty|winscp|filezilla|notepad++|7-zip|vlc|onenote|webex|safari|macos|android work profile|
  company portal|jamf self service|bitlocker|defender|crowdstrike falcon|sophos endpoint|zscaler|duo mobile|
  microsoft authenticator|lastpass|1password|keepass|dropbox|box drive|google drive|docusign|concur|coupa|
  netsuite|dynamics 365|navision|quickbooks|xero|hubspot|zendesk|freshdesk|asana|trello|monday.com|notion|
  miro|figma|lucidchart|visio|ms project|smartsheet|bamboohr|greenhouse|successfactors|kronos|adp|sage|
  autocad|revit|solidworks|catia|matlab|labview|rstudio|spss|stata|sas enterprise guide|arcgis|qgis|
  sketchup|blender|photoshop|illustrator|indesign|premiere pro|after effects|lightroom|camtasia|snagit|
  audacity|obs studio|mendeley|zotero|endnote|grammarly|deepl|nitro pdf|foxit reader|java runtime|python|
  node.js|git|postman|wireshark|vmware horizon|virtualbox|hyper-v|parallels|teamviewer|anydesk|splashtop|
  bomgar|kaseya|solarwinds|nagios|grafana|kibana|splunk|datadog|pagerduty|opsgenie|statuspage|microsoft 365|
  exchange online|entra id|active directory|azure portal|aws console|google workspace|gmail|google meet|
  google sheets|okta verify|citrix receiver|horizon client|sap gui|sap fiori|oracle ebs|peoplesoft|jd edwards|
  epicor|infor|sage x3|service cloud|marketing cloud|pardot|mailchimp|hootsuite|canva|creative cloud|
  acrobat reader|dreamweaver|balsamiq|jira service management|bitbucket|jenkins|teamcity|octopus deploy|
  terraform|ansible|kubernetes dashboard|rancher|openshift|vault|keycloak|gitlab|sonarqube|nexus|artifactory|
  sentry|new relic|dynatrace|appdynamics|elastic|logstash|prometheus|zabbix|prtg|veeam|commvault|acronis|
  carbonite|backblaze|malwarebytes|eset|trend micro|bitdefender|ringcentral|vonage|avaya workplace|genesys|
  five9|talkdesk|aircall|dialpad|zoom phone|teams phone|skype for business`);

export const HARDWARE =
  words(`laptop|monitor|docking station|printer|headset|keyboard|mouse|webcam|desk phone|
  mobile phone|second monitor|charger|battery|usb-c adapter|hdmi cable|scanner|projector|
  conference room display|meeting room camera|tablet|badge reader|external hard drive|usb stick|speakerphone|
  label printer|thin client|workstation|trackpad|stylus|ssd|memory module|graphics card|power supply|
  cooling fan|screen hinge|touchscreen|keyboard backlight|sim card|smart card reader|yubikey|barcode scanner|
  card terminal|plotter|wall display|whiteboard camera|microphone|speaker|ups|kvm switch|ethernet adapter|
  wireless presenter|ipad|iphone|android phone|macbook|surface pro|thinkpad|latitude|elitebook|optiplex|
  imac|chromebook|wireless keyboard|ergonomic mouse|standing desk|monitor arm|privacy filter|laptop stand|
  usb hub|thunderbolt dock|nas|tape drive|rack server|firewall appliance|network switch|patch panel|
  poe injector|ip camera|door controller|badge printer|receipt printer|thermal printer|handheld scanner|
  rugged tablet|mobile hotspot|4g router|smartwatch|vr headset|3d printer|label maker|document camera|
  interactive whiteboard|soundbar|ceiling microphone|room booking panel`);

export const BRANDS =
  words(`dell|lenovo|hp|apple|microsoft|logitech|jabra|poly|cisco|samsung|lg|brother|canon|
  epson|xerox|ricoh|kyocera|benq|eizo|asus|acer|sennheiser|yealink|aruba|ubiquiti|meraki|netgear|fortinet|
  juniper|palo alto|zebra|honeywell|apc|eaton|belkin|anker|kensington|targus`);

export const SOFTWARE_PROBLEMS = words(`keeps crashing|freezes|is very slow|will not start|does not open|
  shows an error|times out|stopped working|is not syncing|hangs on startup|shows a blank window|
  asks for my password repeatedly|is greyed out|is stuck on loading|crashes on launch|will not install|
  fails to update|shows a certificate warning|logs me out|loses my settings|reports a license error|
  says access denied|runs out of memory|duplicates every entry|sends emails twice|does not show attachments|
  opens files in read-only mode|reports the file is locked|cannot save changes|loses formatting|
  shows garbled characters|is missing from the start menu|reverted to an old version|
  is blocked by antivirus|triggers a security alert|shows a quota exceeded message|returns error 500|
  shows a white page|redirects in a loop|rejects the mfa code|does not send the sms code|
  stopped sending push notifications|shows an expired certificate|shows the wrong time zone|
  cannot find the server|deletes my drafts|shows the wrong language|uses all the cpu|
  will not print|exports empty files|cannot connect to the database|shows old data`);

export const HARDWARE_PROBLEMS = words(`is not detected|stopped working|will not turn on|flickers|overheats|
  will not charge|has no sound|echoes during calls|makes a clicking noise|drains the battery|
  shows a blank screen|turns off randomly|has a cracked screen|has sticky keys|has dead pixels|
  shows vertical lines|displays at the wrong resolution|does not wake from sleep|is very loud|
  disconnects every few minutes|prints blank pages|jams constantly|prints streaks|is offline|
  beeps three times|shows a blue screen|restarts randomly|is missing|was damaged in transit|
  lost its bluetooth pairing|has a loose cable|is running out of toner|has a swollen battery|
  cannot be found on the network|double clicks|shows no signal`);

export const NETWORK_PROBLEMS = words(`keeps disconnecting|is extremely slow|drops packets|has high latency|
  shows limited connectivity|gets no ip address|cannot resolve names|shows a proxy error|times out|
  is not reachable|rejects my certificate|asks for credentials again|blocks internal sites|
  loses connection every hour|is down|is unstable since the outage|cannot be mapped|shows no networks`);

export const ACCESS_REQUESTS =
  words(`reset my password|unlock my account|log in to {software}|sign in with sso|
  set up mfa on my new phone|access the {share} share|get admin rights on {host}|join the {department} group|
  change my expired password|recover my account|get the bitlocker recovery key|access the {department} mailbox|
  enrol my phone in company portal|open the {department} team site|approve the login request|
  add a delegate to my calendar`);

export const NETWORK_REQUESTS =
  words(`connect to the vpn|connect to the wifi|reach {server}|map the {share} drive|
  open internal sites|use the vpn from the {location}|join the guest wifi|access the intranet|
  print over the network|reach the build server|download from the file server`);

export const SOFTWARE_REQUESTS =
  words(`install {software}|update {software}|activate {software}|export a report from {software}|
  share a file in {software}|sync my files with {software}|open old files in {software}|
  log time in {software}|add a plugin to {software}|restore a deleted file in {software}|
  merge two records in {software}|schedule a meeting in {software}|open the {document} in {software}|
  share the {document} with {department}|restore the {document} from a backup|set up the {feature} in {software}|
  turn off the {feature} in {software}`);

/** Parts of applications and of the operating system that tickets name. */
export const FEATURES = words(`shared calendar|pivot table|mail merge|out of office reply|meeting invite|
  distribution list|shared mailbox|calendar delegation|read receipt|email signature|auto-archive|focused inbox|
  mail rules|conditional formatting|vlookup|macro|add-in|track changes|comments pane|co-authoring|
  version history|sync client|recycle bin|sharing link|guest access|channel|chat history|screen sharing|
  breakout rooms|meeting recording|live captions|background blur|dial-in number|presenter view|slide master|
  speaker notes|export to pdf|print preview|page layout|spam filter|quarantine|junk folder|search index|
  offline mode|cached mode|autocomplete list|address book|global address list|contact card|presence status|
  notification settings|dark mode|language pack|spell checker|dictation|clipboard|file explorer|start menu|
  taskbar|system tray|control panel|device manager|display settings|sound settings|power plan|sleep mode|
  hibernation|fast startup|disk cleanup|task manager|event viewer|registry|group policy|credential manager|
  certificate store|trusted sites|proxy settings|dns cache|hosts file|firewall profile|network adapter|
  bluetooth stack|driver update|firmware update|bios setting|secure boot|tpm chip|login screen|lock screen|
  screen saver|remote session|session timeout|single sign-on|conditional access|password policy|
  self-service password reset|push approval|hardware token|backup codes|audit log|admin console|
  user provisioning|license assignment|role assignment|approval workflow|expense approval|
  purchase requisition|timesheet approval|leave request|org chart|employee profile|payslip view|tax form|
  benefits enrolment|training module|course catalogue|report builder|dashboard filter|data refresh|
  scheduled export|webhook|integration user|data import|csv export|bulk upload|field mapping|picklist|
  custom field|validation rule|lead assignment|opportunity stage|quote template|price book|invoice run|
  payment run|bank reconciliation|general ledger|cost centre|goods receipt|vendor master|material master|
  sales order|delivery note|stock transfer|inventory count|batch job|print queue|label template|
  scan to email|scan to folder|fax gateway|toner level|paper tray|duplex printing|colour profile|
  secure print|follow-me printing`);

/** Files and records people work on. */
export const DOCUMENTS = words(`invoice|purchase order|contract|offer letter|expense report|timesheet|payslip|
  board deck|sales forecast|budget spreadsheet|project plan|meeting minutes|training video|customer list|
  price list|tender document|audit report|compliance checklist|employee handbook|onboarding checklist|
  product catalogue|technical drawing|cad model|design mockup|marketing brochure|press release|newsletter|
  annual report|tax return|bank statement|packing list|inventory sheet|shift schedule|holiday planner|
  travel request|visa letter|nda|statement of work|service agreement|warranty certificate|safety data sheet|
  quality report|test protocol|release notes|change request|incident report|risk register|backup log|
  server inventory|network diagram|floor plan|seating plan|asset register|licence overview|customer database|
  survey results|interview notes|performance review|job description|salary review|bonus calculation|
  pension statement|insurance claim|lease agreement|utility bill|visitor log|fire drill report|
  cleaning schedule|canteen menu|event invitation|webinar recording|user manual|api documentation|
  architecture diagram|roadmap|sprint backlog|retrospective notes|status report|steering committee deck|
  grant application|research paper|lab notebook|patent draft|trademark filing|court filing|
  board resolution|shareholder letter|investor update`);

export const SHARES =
  words(`finance|hr|projects|public|scans|sales|marketing|legal|engineering|design|archive|
  operations|procurement|quality|research|payroll|contracts|training`);

export const DEPARTMENTS = words(`finance|sales|hr|marketing|engineering|customer support|operations|legal|
  procurement|logistics|facilities|research|quality|customer success|product|design|security|compliance|
  executive office|accounting|payroll|recruiting|training|warehouse`);

export const LOCATIONS = words(`berlin office|london office|home office|paris office|madrid office|
  amsterdam office|new york office|warsaw office|chicago office|toronto office|dublin office|austin office|
  singapore office|sydney office|tokyo office|bangalore office|sao paulo office|warehouse|reception|
  data center|training room|lab|canteen|mailroom|munich office|hamburg office|frankfurt office|zurich office|
  vienna office|prague office|milan office|lisbon office|barcelona office|brussels office|copenhagen office|
  stockholm office|oslo office|helsinki office|manchester office|edinburgh office|lyon office|boston office|
  seattle office|san francisco office|denver office|atlanta office|miami office|dallas office|
  mexico city office|bogota office|buenos aires office|johannesburg office|cairo office|dubai office|
  mumbai office|shanghai office|hong kong office|seoul office|manila office|jakarta office|auckland office|
  melbourne office|distribution centre|factory floor|print room|server room|loading dock`);

export const ROOMS = words(`atlas|orion|vega|lyra|nova|polaris|sirius|aurora|zenith|apollo|juno|mercury|titan|
  draco|cassiopeia|andromeda|pegasus|phoenix|hydra|carina`);

export const TIMES = words(`this morning|since yesterday|since monday|since the last update|after the weekend|
  after the windows update|since I moved desks|after my password change|every afternoon|since last week|
  intermittently|after every reboot|whenever I dock the laptop|when working from home|since the office move|
  during video calls|at the start of every month`);

export const BUSINESS = words(`month-end close|payroll run|customer demo|quarterly report|board meeting|audit|
  product release|tender deadline|stock count|client workshop|trade fair|sales kick-off|year-end close`);

export const FIXES = words(`restarting the laptop|signing out and back in|clearing the browser cache|
  reinstalling {software}|updating the {hardware} driver|removing the cached credentials|
  reconnecting the {hardware}|resetting the network settings|switching to the wired network|
  repairing the office installation|re-enrolling the device|deleting the local profile|
  installing the latest firmware|running windows update|using a different usb port|
  turning bluetooth off and on|disabling the vpn for a moment|opening it in a private window`);

export const AGENT_ACTIONS =
  words(`reset your password|unlocked your account|pushed a new configuration to {host}|
  added you to the {department} group|renewed the certificate on {server}|restarted the service on {server}|
  replaced the toner|ordered a replacement {hardware}|raised a vendor case with {brand}|
  extended your mailbox quota|reinstalled {software} remotely|cleared the print queue on {printer}|
  reset your mfa registration|assigned you a {software} license|rolled back the last {software} update|
  whitelisted the site in the proxy|increased your onedrive storage|moved your mailbox to the new server`);

export const CAUSES = words(`an expired certificate|a full disk|a stuck print spooler|a bad driver update|
  a dhcp scope exhaustion|a misconfigured group policy|a license pool that ran out|a dns record pointing to the old server|
  a failed sync job|a broken cable in the floor box|a firmware bug|a conditional access policy|
  a proxy rule|a duplicate ip address|a corrupted profile|an outdated client version`);

export const TEAMS = words(`the network team|the identity team|the desktop team|the application owners|
  second-line support|the security team|the vendor|facilities|the database team`);

export const TAGS: Record<TopicName, string[]> = {
  access: words('password|account|mfa|sso|access-request|locked-out|permissions|onboarding|offboarding'),
  network: words('vpn|wifi|network|dns|proxy|remote-work|firewall|outage'),
  software: words('email|office365|crash|installation|licensing|update|performance|erp|crm|browser'),
  hardware: words(
    'laptop|printer|monitor|peripherals|replacement|warranty|mobile|meeting-room|hardware-request',
  ),
};
export const GENERIC_TAGS = words('urgent|follow-up|needs-info|vip|known-issue|duplicate|escalated');

export const FIRST_NAMES =
  words(`anna|ben|carla|david|emma|felix|greta|hugo|ines|jonas|karin|lukas|maria|noah|
  olga|paul|quinn|rosa|sven|tina|ugo|vera|will|xenia|yusuf|zoe|aisha|bruno|chen|dmitri|elena|farid|gabriel|
  hana|ivan|julia|kenji|lena|marco|nadia|oscar|priya|rafael|sofia|tomas|uma|victor|wei|yara|zara|adam|
  beatriz|carlos|daria|erik|fatima|giorgio|helen|igor|jana|kofi|laura|mateo|nina|omar|petra|ravi|sara|
  thomas|ursula|vikram|wanda|yasmin|ahmed|bianca|conor|diana|emil|freya`);

export const LAST_NAMES = words(`schmidt|smith|garcia|mueller|rossi|dubois|kowalski|novak|jensen|silva|tanaka|
  kim|nguyen|patel|cohen|murphy|johansson|virtanen|horvat|popescu|ivanova|yilmaz|haddad|okafor|mensah|
  costa|fischer|weber|meyer|wagner|becker|hoffmann|schulz|koch|richter|klein|wolf|neumann|schwarz|
  zimmermann|braun|krueger|hofmann|hartmann|lange|schmitt|werner|krause|meier|lehmann|moreau|laurent|
  bernard|lefebvre|fontaine|russo|ferrari|esposito|romano|colombo|santos|oliveira|pereira|lopez|martin|
  sanchez|perez|gomez|fernandez|diaz|brown|taylor|wilson|evans|thomas|roberts|walker|wright|thompson`);

export const WEEKDAYS = words('monday|tuesday|wednesday|thursday|friday');

export const SERVER_ROLES = words('file|print|app|db|web|mail|dc|sql|build|backup|proxy|vpn|erp|crm');

export const ERROR_CODES = [
  '0x80070005',
  '0x80004005',
  '0x800f0922',
  '0x80070643',
  '0x8024402c',
  '0x80072efd',
  '0xc000021a',
  '0x80190001',
  '0x800704cf',
  '0x80070057',
  '0x8007000d',
  '0x80244022',
  '0xc0000225',
  '0x80131500',
  '0x800ccc0e',
  '0x8004010f',
  '0x80040154',
  '0x80072f8f',
  '0x80073cf3',
  '0x87d00324',
  'error 404',
  'error 403',
  'error 502',
  'error 1603',
  'error 1722',
  'error 3221',
  'error 5023',
  'error 720',
  'error 809',
  'error 53',
  'aadsts50076',
  'aadsts50126',
  'aadsts700016',
  'err_cert_authority_invalid',
  'err_connection_reset',
  'err_proxy_connection_failed',
];

export type TopicName = 'access' | 'network' | 'software' | 'hardware';

/** The four teams of the generated service desk, one per topic. */
export const TOPICS: ReadonlyArray<{ name: TopicName; team: string; weight: number }> = [
  { name: 'access', team: 'Service Desk', weight: 0.3 },
  { name: 'software', team: 'Business Applications', weight: 0.3 },
  { name: 'network', team: 'Network & Infrastructure', weight: 0.2 },
  { name: 'hardware', team: 'Workplace Hardware', weight: 0.2 },
];

/** Distinct words across the lists (multi-word entries split), for the printed data summary. */
export function vocabularySize(): number {
  const lists = [
    SOFTWARE,
    HARDWARE,
    BRANDS,
    SOFTWARE_PROBLEMS,
    HARDWARE_PROBLEMS,
    NETWORK_PROBLEMS,
    ACCESS_REQUESTS,
    NETWORK_REQUESTS,
    SOFTWARE_REQUESTS,
    FEATURES,
    DOCUMENTS,
    SHARES,
    DEPARTMENTS,
    LOCATIONS,
    ROOMS,
    TIMES,
    BUSINESS,
    FIXES,
    AGENT_ACTIONS,
    CAUSES,
    TEAMS,
    GENERIC_TAGS,
    FIRST_NAMES,
    LAST_NAMES,
    ...Object.values(TAGS),
  ];
  const distinct = new Set<string>();
  for (const list of lists)
    for (const entry of list)
      for (const word of entry.split(/\s+/)) if (!word.includes('{')) distinct.add(word);
  return distinct.size;
}
