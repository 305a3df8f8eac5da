CREATE TABLE "agent_profiles" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"availability" text DEFAULT 'available' NOT NULL,
	"capacity" integer,
	"skills" text[] DEFAULT '{}'::text[] NOT NULL,
	"is_senior" boolean DEFAULT false NOT NULL,
	"availability_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_profiles_availability_check" CHECK ("agent_profiles"."availability" in ('available', 'away', 'offline')),
	CONSTRAINT "agent_profiles_capacity_check" CHECK ("agent_profiles"."capacity" is null or "agent_profiles"."capacity" >= 0)
);
--> statement-breakpoint
ALTER TABLE "agent_profiles" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "team_routing" (
	"team_id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"mode" text DEFAULT 'off' NOT NULL,
	"category_skills" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_assignee_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "team_routing_mode_check" CHECK ("team_routing"."mode" in ('off', 'round_robin', 'least_open'))
);
--> statement-breakpoint
ALTER TABLE "team_routing" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "business_calendars" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"time_zone" text NOT NULL,
	"hours" jsonb NOT NULL,
	"holiday_calendar_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "business_calendars" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "escalation_policies" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"levels" jsonb NOT NULL,
	"manager_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"senior_role" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "escalation_policies" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "holiday_calendars" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "holiday_calendars" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "holidays" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"holiday_calendar_id" uuid NOT NULL,
	"date" date NOT NULL,
	"name" text NOT NULL,
	"recurring" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "holidays" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sla_policies" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"position" integer NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"conditions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"targets" jsonb NOT NULL,
	"business_hours" text DEFAULT 'team' NOT NULL,
	"calendar_id" uuid,
	"at_risk_share" real DEFAULT 0.75 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "sla_policies_business_hours_check" CHECK ("sla_policies"."business_hours" in ('team', 'calendar', 'always')),
	CONSTRAINT "sla_policies_calendar_check" CHECK (("sla_policies"."business_hours" = 'calendar') = ("sla_policies"."calendar_id" is not null)),
	CONSTRAINT "sla_policies_at_risk_share_check" CHECK ("sla_policies"."at_risk_share" > 0 and "sla_policies"."at_risk_share" < 1)
);
--> statement-breakpoint
ALTER TABLE "sla_policies" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sla_timer_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"timer_id" uuid NOT NULL,
	"ticket_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"level" smallint DEFAULT 0 NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"fired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"fired_by" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "sla_timer_events_kind_check" CHECK ("sla_timer_events"."kind" in ('at_risk', 'breached', 'escalated'))
);
--> statement-breakpoint
ALTER TABLE "sla_timer_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sla_timers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"ticket_id" uuid NOT NULL,
	"policy_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"cycle" smallint DEFAULT 1 NOT NULL,
	"target_seconds" integer NOT NULL,
	"calendar_id" uuid,
	"at_risk_share" real NOT NULL,
	"state" text DEFAULT 'running' NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"segment_started_at" timestamp with time zone,
	"consumed_ms" bigint DEFAULT 0 NOT NULL,
	"at_risk_at" timestamp with time zone,
	"due_at" timestamp with time zone,
	"paused_at" timestamp with time zone,
	"at_risk_fired_at" timestamp with time zone,
	"breached_at" timestamp with time zone,
	"escalated_levels" smallint[] DEFAULT '{}'::smallint[] NOT NULL,
	"next_fire_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sla_timers_kind_check" CHECK ("sla_timers"."kind" in ('first_response', 'next_response', 'resolution')),
	CONSTRAINT "sla_timers_state_check" CHECK ("sla_timers"."state" in ('running', 'paused', 'at_risk', 'breached', 'met')),
	CONSTRAINT "sla_timers_target_check" CHECK ("sla_timers"."target_seconds" > 0)
);
--> statement-breakpoint
ALTER TABLE "sla_timers" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "team_calendars" (
	"team_id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"calendar_id" uuid NOT NULL
);
--> statement-breakpoint
ALTER TABLE "team_calendars" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "company" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "is_vip" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "cause_id" uuid;--> statement-breakpoint
ALTER TABLE "agent_profiles" ADD CONSTRAINT "agent_profiles_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_profiles" ADD CONSTRAINT "agent_profiles_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_routing" ADD CONSTRAINT "team_routing_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_routing" ADD CONSTRAINT "team_routing_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_routing" ADD CONSTRAINT "team_routing_last_assignee_id_users_id_fk" FOREIGN KEY ("last_assignee_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "business_calendars" ADD CONSTRAINT "business_calendars_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_policies" ADD CONSTRAINT "escalation_policies_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holiday_calendars" ADD CONSTRAINT "holiday_calendars_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holidays" ADD CONSTRAINT "holidays_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holidays" ADD CONSTRAINT "holidays_holiday_calendar_id_holiday_calendars_id_fk" FOREIGN KEY ("holiday_calendar_id") REFERENCES "public"."holiday_calendars"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_policies" ADD CONSTRAINT "sla_policies_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_policies" ADD CONSTRAINT "sla_policies_calendar_id_business_calendars_id_fk" FOREIGN KEY ("calendar_id") REFERENCES "public"."business_calendars"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_timer_events" ADD CONSTRAINT "sla_timer_events_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_timer_events" ADD CONSTRAINT "sla_timer_events_timer_id_sla_timers_id_fk" FOREIGN KEY ("timer_id") REFERENCES "public"."sla_timers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_timer_events" ADD CONSTRAINT "sla_timer_events_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_timers" ADD CONSTRAINT "sla_timers_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_timers" ADD CONSTRAINT "sla_timers_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_timers" ADD CONSTRAINT "sla_timers_policy_id_sla_policies_id_fk" FOREIGN KEY ("policy_id") REFERENCES "public"."sla_policies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sla_timers" ADD CONSTRAINT "sla_timers_calendar_id_business_calendars_id_fk" FOREIGN KEY ("calendar_id") REFERENCES "public"."business_calendars"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_calendars" ADD CONSTRAINT "team_calendars_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_calendars" ADD CONSTRAINT "team_calendars_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_calendars" ADD CONSTRAINT "team_calendars_calendar_id_business_calendars_id_fk" FOREIGN KEY ("calendar_id") REFERENCES "public"."business_calendars"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_profiles_org_idx" ON "agent_profiles" USING btree ("org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "business_calendars_org_name_key" ON "business_calendars" USING btree ("org_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "business_calendars_org_default_key" ON "business_calendars" USING btree ("org_id") WHERE "business_calendars"."is_default";--> statement-breakpoint
CREATE UNIQUE INDEX "holiday_calendars_org_name_key" ON "holiday_calendars" USING btree ("org_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "holidays_calendar_date_key" ON "holidays" USING btree ("holiday_calendar_id","date");--> statement-breakpoint
CREATE INDEX "sla_policies_org_position_idx" ON "sla_policies" USING btree ("org_id","position") WHERE "sla_policies"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "sla_policies_org_name_key" ON "sla_policies" USING btree ("org_id",lower("name")) WHERE "sla_policies"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "sla_timer_events_once_key" ON "sla_timer_events" USING btree ("timer_id","kind","level");--> statement-breakpoint
CREATE INDEX "sla_timer_events_org_fired_idx" ON "sla_timer_events" USING btree ("org_id","fired_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sla_timers_active_key" ON "sla_timers" USING btree ("ticket_id","kind") WHERE "sla_timers"."completed_at" is null;--> statement-breakpoint
CREATE INDEX "sla_timers_ticket_idx" ON "sla_timers" USING btree ("ticket_id");--> statement-breakpoint
CREATE INDEX "sla_timers_next_fire_idx" ON "sla_timers" USING btree ("next_fire_at") WHERE "sla_timers"."next_fire_at" is not null;--> statement-breakpoint
CREATE INDEX "sla_timers_org_due_idx" ON "sla_timers" USING btree ("org_id","due_at") WHERE "sla_timers"."completed_at" is null;--> statement-breakpoint
CREATE INDEX "team_calendars_calendar_idx" ON "team_calendars" USING btree ("calendar_id");--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_other_cause_key" ON "notifications" USING btree ("user_id","kind","cause_id") WHERE "notifications"."cause_id" is not null;--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "agent_profiles" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "team_routing" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "business_calendars" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "escalation_policies" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "holiday_calendars" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "holidays" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sla_policies" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sla_timer_events" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sla_timers" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "team_calendars" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());