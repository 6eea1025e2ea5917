//! Who may do what: the one place that decides, deny by default (after kanidm's access
//! module). Every route names the [`Action`] it performs; the web layer asks [`admits`]
//! before the handler runs (does this kind of caller ever do this?) and the handler asks
//! [`authorize`] once it knows the target (this agency, this unit, this citizen).
//!
//! Rules are written as one `match` per action so that a reviewer reads, in one screen,
//! everyone who can do it. A caller or action not named is refused.

use serde::Serialize;

use crate::agency::AgencyCode;
use crate::ids::{CitizenId, UnitCode};

/// A member of staff's role. Scope comes with the account: an agency (and, for a commune's
/// People's Committee, its unit), or the whole city when no agency is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Processes applications and feedback of their agency.
    Officer,
    /// Reads dashboards for their agency, or the city when no agency is set.
    Leader,
    /// Reads the audit log (their agency's entries, or all when no agency is set);
    /// changes nothing.
    Auditor,
    /// Manages their agency's officers, leaders, API keys and grants.
    AgencyAdmin,
    /// Manages agencies and staff across the city.
    CityAdmin,
    /// A member of a community digital technology team, helping residents of one unit.
    DigitalTeam,
    /// Works a one-stop counter: of a ward's People's Committee (that ward's applications)
    /// or of the city's Center for Public Administrative Services (any of the city's).
    CounterOfficer,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Officer,
        Role::Leader,
        Role::Auditor,
        Role::AgencyAdmin,
        Role::CityAdmin,
        Role::DigitalTeam,
        Role::CounterOfficer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Leader => "leader",
            Role::Auditor => "auditor",
            Role::AgencyAdmin => "agency_admin",
            Role::CityAdmin => "city_admin",
            Role::DigitalTeam => "digital_team",
            Role::CounterOfficer => "counter_officer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Whether an account with this role must belong to an agency, may, or must not.
    pub fn agency_rule(self) -> Requirement {
        match self {
            Role::Officer | Role::AgencyAdmin | Role::CounterOfficer => Requirement::Required,
            Role::Leader | Role::Auditor => Requirement::Optional,
            Role::CityAdmin | Role::DigitalTeam => Requirement::Forbidden,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Required,
    Optional,
    Forbidden,
}

/// A member of staff as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub username: String,
    pub role: Role,
    /// The agency they act for; `None` means city-wide (or, for a digital team, no agency).
    pub agency: Option<AgencyCode>,
    /// The unit they are confined to: a commune agency's unit, or a digital team's ward.
    pub unit: Option<UnitCode>,
}

/// Whoever is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// A signed-in citizen.
    Citizen(CitizenId),
    Staff(Staff),
    /// An agency's system, by its API key; an officer may be named by the system.
    AgencySystem {
        agency: AgencyCode,
        officer: Option<String>,
    },
    /// An enterprise's system, by its API key: it reads citizens' fields only where they
    /// consented to it.
    EnterpriseSystem(crate::TaxCode),
    /// The holder of the configured bootstrap token: a city administrator without an
    /// account, for setting up a new installation.
    Bootstrap,
}

impl Principal {
    /// The audit log's name for this caller.
    pub fn actor(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".to_owned(),
            Principal::Citizen(id) => format!("citizen:{id}"),
            Principal::Staff(s) => format!("staff:{}", s.username),
            Principal::AgencySystem {
                agency,
                officer: Some(o),
            } => format!("agency:{agency}/officer:{o}"),
            Principal::AgencySystem {
                agency,
                officer: None,
            } => format!("agency:{agency}"),
            Principal::EnterpriseSystem(tax_code) => format!("enterprise:{tax_code}"),
            Principal::Bootstrap => "admin".to_owned(),
        }
    }

    /// The agency the caller acts for, recorded beside the actor in the audit log.
    pub fn agency(&self) -> Option<&AgencyCode> {
        match self {
            Principal::Staff(s) => s.agency.as_ref(),
            Principal::AgencySystem { agency, .. } => Some(agency),
            _ => None,
        }
    }

    /// The role the caller acts in; the bootstrap token acts as a city administrator.
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Staff(s) => Some(s.role),
            Principal::Bootstrap => Some(Role::CityAdmin),
            _ => None,
        }
    }
}

/// Everything a route can do, named once. Public actions need no caller at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Reference data, health, documentation, pages anyone may see.
    ReadPublic,
    /// Presenting credentials to start a session.
    SignIn,
    /// Ending one's own session; reading who one is.
    UseSession,
    /// Registering agencies.
    ManageAgencies,
    /// An agency's API keys and grants.
    ManageAgencyAccess,
    /// Enterprises' API keys, with which they read what citizens consented to.
    ManageEnterpriseAccess,
    /// Reading an agency's grants.
    ReadAgencyAccess,
    /// Opening, listing and disabling staff accounts.
    ManageStaff,
    ReadStaff,
    /// Opening a citizen's local account with a password of the opener's choosing:
    /// administrators only (a city's first accounts, migrations of accounts).
    CreateCitizenAccount,
    /// Starting a resident's account for them: a one-time code goes to the phone or e-mail
    /// the registry holds, and the resident sets their own password with it. Helping never
    /// means holding the resident's credentials.
    StartAccountActivation,
    /// The share endpoint: agencies' and enterprises' systems, and then only as far as their
    /// grants and citizens' consents reach (checked by the sharing capability).
    ReadRegistry,
    /// Searching the population registry by name (city administrators, audited per hit).
    SearchRegistry,
    /// A citizen's own records, access log and consents.
    ReadOwnData,
    ManageOwnConsents,
    /// Reading the audit log.
    ReadAuditLog,
    /// Editing the procedure catalog (each save a new version).
    ManageCatalog,
    /// Starting, submitting, withdrawing one's own application and supplying what was
    /// asked for.
    Apply,
    /// Reading an application: its applicant, and the staff of the agency (and unit) that
    /// decides it.
    ReadApplication,
    /// Moving an application through its processing, assigning it: the deciding agency's
    /// officers, within their unit.
    ProcessApplication,
    /// Filing a report, joining one, and the reporter's own follow-up (rating, reopening,
    /// photos), proven by session or by the code given when filing: anyone may.
    FileReport,
    /// Reading reports with their reporters' contacts, answering, moving and forwarding
    /// them: the officers of the agency responsible.
    ProcessReport,
    /// Editing which agency answers which category of report where.
    ManageReportRouting,
    /// The full service evaluation, by agency and commune, with cells too small to publish.
    ReadEvaluation,
    /// Leaders' dashboards: procedure monitoring down to the overdue applications,
    /// strategic tasks, scorecards, indicator values not yet approved. A leader bound to
    /// an agency sees that agency's; a city leader sees everything.
    ReadDashboard,
    /// Defining statistical indicators (code, names, unit, periodicity, owner, formula).
    ManageIndicators,
    /// Entering or importing an indicator's values: the owning agency's officers and its
    /// systems (a system's values count as digital).
    EnterIndicatorValues,
    /// Approving or rejecting entered values: the owning agency's leaders, or the city's.
    ApproveIndicatorValues,
    /// Assigning strategic tasks to agencies: the city's leaders (the People's Committee).
    AssignTasks,
    /// Reporting a task's progress: the assigned agency's officers and leaders.
    ReportTaskProgress,
    /// Seeing the background jobs (counts, the jobs themselves without their payloads),
    /// trying a dead one again, cancelling one that waits: the city's administrators, who
    /// run the servers.
    OperateJobs,
    /// The city's certificates: listing them, revoking a compromised one. The city's
    /// administrators, as for jobs.
    ManageCertificates,
    /// Taking a number for a counter's waiting line, at its kiosk: anyone may.
    TakeTicket,
    /// The one-stop counter: identifying the person at the counter by their CCCD, filing
    /// for them (confirmed by them on the spot), receipts, queue tickets, handing over
    /// paper results. A ward's counter officers for their ward; the Center's for the city.
    CounterIntake,
}

impl Action {
    /// Anyone may do it, signed in or not.
    pub fn is_public(self) -> bool {
        matches!(
            self,
            Action::ReadPublic | Action::SignIn | Action::FileReport | Action::TakeTicket
        )
    }

    /// Whether the caller matters to the action. Filing a report is open to anyone, but a
    /// signed-in citizen is the report's reporter, so credentials presented are read.
    pub fn identifies_caller(self) -> bool {
        !self.is_public() || self == Action::FileReport
    }
}

/// What an action is done to, as far as the handler knows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    /// The agency whose things are read or changed.
    pub agency: Option<&'a AgencyCode>,
    /// The unit the thing belongs to (a citizen's residence, an application's commune).
    pub unit: Option<&'a UnitCode>,
    /// The citizen whose data it is.
    pub citizen: Option<&'a CitizenId>,
    /// For staff management: the role being granted.
    pub role: Option<Role>,
}

impl<'a> Target<'a> {
    pub fn agency(agency: &'a AgencyCode) -> Self {
        Self {
            agency: Some(agency),
            ..Self::default()
        }
    }
    pub fn citizen(citizen: &'a CitizenId) -> Self {
        Self {
            citizen: Some(citizen),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("sign in first")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
}

/// Whether `who` may ever do `action`, before any target is known. Routes check this.
pub fn admits(who: &Principal, action: Action) -> Result<(), Denial> {
    decide(who, action, None)
}

/// Whether `who` may do `action` to `target`. Handlers check this once they know it.
pub fn authorize(who: &Principal, action: Action, target: &Target<'_>) -> Result<(), Denial> {
    decide(who, action, Some(target))
}

fn decide(who: &Principal, action: Action, target: Option<&Target<'_>>) -> Result<(), Denial> {
    if action.is_public() {
        return Ok(());
    }
    if *who == Principal::Anonymous {
        return Err(Denial::Unauthenticated);
    }
    // `within` answers for a scoped rule: with no target yet, the role alone admits.
    let within = |check: &dyn Fn(&Target<'_>) -> bool| target.is_none_or(check);
    let own_agency = |t: &Target<'_>| t.agency.is_some() && t.agency == who.agency();
    let allowed = match action {
        Action::ReadPublic | Action::SignIn | Action::FileReport | Action::TakeTicket => true,
        Action::UseSession => matches!(who, Principal::Citizen(_) | Principal::Staff(_)),
        Action::ManageAgencies => who.role() == Some(Role::CityAdmin),
        Action::ManageAgencyAccess => match who.role() {
            Some(Role::CityAdmin) => true,
            Some(Role::AgencyAdmin) => within(&own_agency),
            _ => false,
        },
        Action::ReadAgencyAccess => match who.role() {
            Some(Role::CityAdmin) => true,
            Some(Role::AgencyAdmin) => within(&own_agency),
            Some(Role::Auditor) => who.agency().is_none() || within(&own_agency),
            _ => false,
        },
        Action::ManageStaff => match who.role() {
            Some(Role::CityAdmin) => true,
            // An agency's administrator staffs their own agency, and cannot make anyone
            // as powerful as themselves.
            Some(Role::AgencyAdmin) => within(&|t| {
                own_agency(t)
                    && matches!(
                        t.role,
                        Some(Role::Officer | Role::Leader | Role::CounterOfficer)
                    )
            }),
            _ => false,
        },
        Action::ReadStaff => match who.role() {
            Some(Role::CityAdmin) => true,
            Some(Role::AgencyAdmin) => within(&own_agency),
            Some(Role::Auditor) => who.agency().is_none() || within(&own_agency),
            _ => false,
        },
        Action::CreateCitizenAccount => match who {
            Principal::Bootstrap => true,
            Principal::Staff(s) => s.role == Role::CityAdmin,
            _ => false,
        },
        Action::StartAccountActivation => match who {
            Principal::Bootstrap => true,
            Principal::Staff(s) => match s.role {
                Role::CityAdmin => true,
                // A digital team starts accounts for the residents of its own ward.
                Role::DigitalTeam => within(&|t| t.unit.is_some() && t.unit == s.unit.as_ref()),
                _ => false,
            },
            _ => false,
        },
        Action::ReadRegistry => matches!(
            who,
            Principal::AgencySystem { .. } | Principal::EnterpriseSystem(_)
        ),
        Action::ManageEnterpriseAccess => who.role() == Some(Role::CityAdmin),
        Action::SearchRegistry => who.role() == Some(Role::CityAdmin),
        Action::ReadOwnData | Action::ManageOwnConsents => match who {
            Principal::Citizen(me) => within(&|t| t.citizen == Some(me)),
            _ => false,
        },
        // A city administrator edits any procedure; an agency's administrator those its
        // agency decides (commune-level procedures are the city's to define).
        Action::ManageCatalog => match who.role() {
            Some(Role::CityAdmin) => true,
            Some(Role::AgencyAdmin) => within(&own_agency),
            _ => false,
        },
        Action::Apply => match who {
            Principal::Citizen(me) => within(&|t| t.citizen == Some(me)),
            // For a resident of their ward, with the one-time code the resident gave them
            // (checked by the services capability).
            Principal::Staff(s) if s.role == Role::DigitalTeam => {
                within(&|t| t.unit.is_some() && t.unit == s.unit.as_ref())
            }
            _ => false,
        },
        Action::ReadApplication => match who {
            Principal::Citizen(me) => within(&|t| t.citizen == Some(me)),
            Principal::Staff(s) => match s.role {
                Role::Officer => within(&|t| own_agency(t) && in_unit(s, t)),
                Role::Leader => s.agency.is_none() || within(&own_agency),
                _ => false,
            },
            _ => false,
        },
        Action::ProcessApplication => match who {
            Principal::Staff(s) if s.role == Role::Officer => {
                within(&|t| own_agency(t) && in_unit(s, t))
            }
            _ => false,
        },
        Action::ProcessReport => match who {
            Principal::Staff(s) if s.role == Role::Officer => within(&own_agency),
            _ => false,
        },
        Action::ManageReportRouting => who.role() == Some(Role::CityAdmin),
        Action::ReadEvaluation => matches!(who.role(), Some(Role::Leader | Role::CityAdmin)),
        Action::ReadDashboard | Action::ApproveIndicatorValues => match who {
            Principal::Staff(s) if s.role == Role::Leader => {
                s.agency.is_none() || within(&own_agency)
            }
            _ => false,
        },
        Action::ManageIndicators => who.role() == Some(Role::CityAdmin),
        Action::EnterIndicatorValues => match who {
            Principal::Staff(s) if s.role == Role::Officer => within(&own_agency),
            Principal::AgencySystem { .. } => within(&own_agency),
            _ => false,
        },
        Action::AssignTasks => match who {
            Principal::Staff(s) => s.role == Role::Leader && s.agency.is_none(),
            _ => false,
        },
        Action::ReportTaskProgress => match who {
            Principal::Staff(s) if matches!(s.role, Role::Officer | Role::Leader) => {
                within(&own_agency)
            }
            _ => false,
        },
        Action::OperateJobs | Action::ManageCertificates => {
            who.role() == Some(Role::CityAdmin) && who.agency().is_none()
        }
        Action::CounterIntake => match who {
            Principal::Staff(s) if s.role == Role::CounterOfficer => within(&|t| in_unit(s, t)),
            _ => false,
        },
        Action::ReadAuditLog => match who {
            // Auditors change nothing and administrators read no audit log: separation
            // of duties.
            Principal::Staff(s) if s.role == Role::Auditor => {
                s.agency.is_none() || within(&own_agency)
            }
            _ => false,
        },
    };
    if allowed {
        Ok(())
    } else {
        Err(Denial::Forbidden)
    }
}

/// Whether the target lies in a unit-bound member of staff's unit (any, when not bound).
fn in_unit(s: &Staff, t: &Target<'_>) -> bool {
    s.unit.is_none() || (t.unit.is_some() && t.unit == s.unit.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role, agency: Option<&str>, unit: Option<&str>) -> Principal {
        Principal::Staff(Staff {
            username: "u".into(),
            role,
            agency: agency.map(|a| AgencyCode::parse(a).unwrap()),
            unit: unit.map(|u| UnitCode::parse(u).unwrap()),
        })
    }

    fn citizen(id: &str) -> Principal {
        Principal::Citizen(CitizenId::parse(id).unwrap())
    }

    fn system(code: &str) -> Principal {
        Principal::AgencySystem {
            agency: AgencyCode::parse(code).unwrap(),
            officer: None,
        }
    }

    #[test]
    fn anonymous_reaches_only_public_actions() {
        for a in [Action::ReadPublic, Action::SignIn, Action::FileReport] {
            assert_eq!(admits(&Principal::Anonymous, a), Ok(()));
        }
        // A report's filer is identified when signed in; reading public data needs no one.
        assert!(Action::FileReport.identifies_caller());
        assert!(!Action::ReadPublic.identifies_caller());
        assert!(Action::ProcessReport.identifies_caller());
        for a in [
            Action::UseSession,
            Action::ManageAgencies,
            Action::ReadRegistry,
            Action::ReadOwnData,
            Action::ReadAuditLog,
        ] {
            assert_eq!(
                admits(&Principal::Anonymous, a),
                Err(Denial::Unauthenticated)
            );
        }
    }

    #[test]
    fn counters_take_in_their_wards_or_the_whole_city() {
        let ward = staff(Role::CounterOfficer, Some("UBND-26743"), Some("26743"));
        let center = staff(Role::CounterOfficer, Some("TTHCC"), None);
        let (here, there) = (
            UnitCode::parse("26743").unwrap(),
            UnitCode::parse("26734").unwrap(),
        );
        let at = |u| Target {
            unit: Some(u),
            ..Target::default()
        };
        assert_eq!(authorize(&ward, Action::CounterIntake, &at(&here)), Ok(()));
        assert_eq!(
            authorize(&ward, Action::CounterIntake, &at(&there)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&center, Action::CounterIntake, &at(&there)),
            Ok(())
        );
        for who in [
            staff(Role::Officer, Some("UBND-26743"), Some("26743")),
            staff(Role::DigitalTeam, None, Some("26743")),
            staff(Role::CityAdmin, None, None),
            citizen("079085000011"),
        ] {
            assert_eq!(
                admits(&who, Action::CounterIntake),
                Err(Denial::Forbidden),
                "{who:?}"
            );
        }
        // A counter officer neither processes nor reads the agencies' queues.
        assert_eq!(
            admits(&center, Action::ProcessApplication),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn only_the_citys_administrators_operate_jobs() {
        assert_eq!(
            admits(&staff(Role::CityAdmin, None, None), Action::OperateJobs),
            Ok(())
        );
        assert_eq!(
            admits(
                &staff(Role::CityAdmin, None, None),
                Action::ManageCertificates
            ),
            Ok(())
        );
        for who in [
            staff(Role::AgencyAdmin, Some("SOTNMT"), None),
            staff(Role::Leader, None, None),
            staff(Role::Auditor, None, None),
            staff(Role::Officer, Some("SOTNMT"), None),
            citizen("079085000011"),
            system("SOTNMT"),
        ] {
            for a in [Action::OperateJobs, Action::ManageCertificates] {
                assert_eq!(admits(&who, a), Err(Denial::Forbidden), "{who:?}");
            }
        }
        assert_eq!(
            admits(&Principal::Anonymous, Action::OperateJobs),
            Err(Denial::Unauthenticated)
        );
    }

    #[test]
    fn dashboards_indicators_and_tasks_follow_the_agency() {
        let city = staff(Role::Leader, None, None);
        let dept = staff(Role::Leader, Some("SOTNMT"), None);
        let officer = staff(Role::Officer, Some("SOTNMT"), None);
        let mine = AgencyCode::parse("SOTNMT").unwrap();
        let other = AgencyCode::parse("SOYTE").unwrap();
        for a in [Action::ReadDashboard, Action::ApproveIndicatorValues] {
            assert_eq!(authorize(&city, a, &Target::agency(&other)), Ok(()));
            assert_eq!(authorize(&dept, a, &Target::agency(&mine)), Ok(()));
            assert_eq!(
                authorize(&dept, a, &Target::agency(&other)),
                Err(Denial::Forbidden)
            );
            assert_eq!(admits(&officer, a), Err(Denial::Forbidden));
        }
        assert_eq!(admits(&city, Action::AssignTasks), Ok(()));
        assert_eq!(admits(&dept, Action::AssignTasks), Err(Denial::Forbidden));
        for who in [&officer, &dept, &system("SOTNMT")] {
            let a = if *who == dept {
                Action::ReportTaskProgress
            } else {
                Action::EnterIndicatorValues
            };
            assert_eq!(authorize(who, a, &Target::agency(&mine)), Ok(()));
            assert_eq!(
                authorize(who, a, &Target::agency(&other)),
                Err(Denial::Forbidden)
            );
        }
        assert_eq!(
            admits(&city, Action::EnterIndicatorValues),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            admits(
                &staff(Role::CityAdmin, None, None),
                Action::ManageIndicators
            ),
            Ok(())
        );
        assert_eq!(
            admits(&city, Action::ManageIndicators),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn a_citizen_reads_only_their_own_data() {
        let me = CitizenId::parse("079185001234").unwrap();
        let other = CitizenId::parse("079190005678").unwrap();
        let who = Principal::Citizen(me.clone());
        let t = |c| Target {
            citizen: Some(c),
            ..Target::default()
        };
        assert_eq!(authorize(&who, Action::ReadOwnData, &t(&me)), Ok(()));
        assert_eq!(
            authorize(&who, Action::ReadOwnData, &t(&other)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&who, Action::ReadOwnData, &Target::default()),
            Err(Denial::Forbidden)
        );
        assert_eq!(admits(&who, Action::ReadRegistry), Err(Denial::Forbidden));
        assert_eq!(admits(&who, Action::ManageAgencies), Err(Denial::Forbidden));
    }

    #[test]
    fn agency_admins_stay_in_their_agency_and_below_their_rank() {
        let who = staff(Role::AgencyAdmin, Some("SO-Y-TE"), None);
        let mine = AgencyCode::parse("SO-Y-TE").unwrap();
        let theirs = AgencyCode::parse("SO-XAY-DUNG").unwrap();
        let t = |a, role| Target {
            agency: Some(a),
            role: Some(role),
            ..Target::default()
        };
        assert_eq!(
            authorize(&who, Action::ManageStaff, &t(&mine, Role::Officer)),
            Ok(())
        );
        for role in [Role::AgencyAdmin, Role::CityAdmin, Role::Auditor] {
            assert_eq!(
                authorize(&who, Action::ManageStaff, &t(&mine, role)),
                Err(Denial::Forbidden),
                "{role:?}"
            );
        }
        assert_eq!(
            authorize(&who, Action::ManageStaff, &t(&theirs, Role::Officer)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&who, Action::ManageAgencyAccess, &t(&theirs, Role::Officer)),
            Err(Denial::Forbidden)
        );
        assert_eq!(admits(&who, Action::ManageAgencies), Err(Denial::Forbidden));
    }

    #[test]
    fn applications_are_read_by_their_applicant_and_the_deciding_unit_only() {
        let mai = CitizenId::parse("079185001234").unwrap();
        let lan = CitizenId::parse("079190005678").unwrap();
        let ward = AgencyCode::parse("UBND-26743").unwrap();
        let other_ward = AgencyCode::parse("UBND-26737").unwrap();
        let (u1, u2) = (
            UnitCode::parse("26743").unwrap(),
            UnitCode::parse("26737").unwrap(),
        );
        let app = |agency, unit, citizen| Target {
            agency: Some(agency),
            unit: Some(unit),
            citizen: Some(citizen),
            role: None,
        };
        let mine = app(&ward, &u1, &mai);
        let theirs = app(&other_ward, &u2, &lan);
        let officer = staff(Role::Officer, Some("UBND-26743"), Some("26743"));
        for a in [Action::ReadApplication, Action::ProcessApplication] {
            assert_eq!(authorize(&officer, a, &mine), Ok(()));
            assert_eq!(authorize(&officer, a, &theirs), Err(Denial::Forbidden));
        }
        let citizen = Principal::Citizen(mai.clone());
        assert_eq!(authorize(&citizen, Action::ReadApplication, &mine), Ok(()));
        assert_eq!(authorize(&citizen, Action::Apply, &mine), Ok(()));
        assert_eq!(
            authorize(&citizen, Action::ReadApplication, &theirs),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            admits(&citizen, Action::ProcessApplication),
            Err(Denial::Forbidden)
        );
        let city_leader = staff(Role::Leader, None, None);
        assert_eq!(
            authorize(&city_leader, Action::ReadApplication, &theirs),
            Ok(())
        );
        assert_eq!(
            admits(&city_leader, Action::ProcessApplication),
            Err(Denial::Forbidden)
        );
        for role in [
            Role::Auditor,
            Role::CityAdmin,
            Role::AgencyAdmin,
            Role::DigitalTeam,
        ] {
            let who = staff(role, None, None);
            assert_eq!(
                admits(&who, Action::ReadApplication),
                Err(Denial::Forbidden),
                "{role:?}"
            );
        }
    }

    #[test]
    fn auditors_read_the_log_and_change_nothing() {
        let city = staff(Role::Auditor, None, None);
        let scoped = staff(Role::Auditor, Some("SO-Y-TE"), None);
        let other = AgencyCode::parse("SO-XAY-DUNG").unwrap();
        let t = Target {
            agency: Some(&other),
            ..Target::default()
        };
        assert_eq!(authorize(&city, Action::ReadAuditLog, &t), Ok(()));
        assert_eq!(
            authorize(&scoped, Action::ReadAuditLog, &t),
            Err(Denial::Forbidden)
        );
        for a in [
            Action::ManageAgencies,
            Action::ManageAgencyAccess,
            Action::ManageStaff,
            Action::CreateCitizenAccount,
        ] {
            assert_eq!(admits(&city, a), Err(Denial::Forbidden), "{a:?}");
        }
        // Administrators do not read the audit log.
        assert_eq!(
            admits(&staff(Role::CityAdmin, None, None), Action::ReadAuditLog),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            admits(&Principal::Bootstrap, Action::ReadAuditLog),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn digital_teams_start_accounts_only_in_their_ward_and_never_set_passwords() {
        let who = staff(Role::DigitalTeam, None, Some("26734"));
        let ward = UnitCode::parse("26734").unwrap();
        let elsewhere = UnitCode::parse("26737").unwrap();
        let t = |u| Target {
            unit: Some(u),
            ..Target::default()
        };
        assert_eq!(
            authorize(&who, Action::StartAccountActivation, &t(&ward)),
            Ok(())
        );
        assert_eq!(
            authorize(&who, Action::StartAccountActivation, &t(&elsewhere)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&who, Action::StartAccountActivation, &Target::default()),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            admits(&who, Action::CreateCitizenAccount),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn only_agency_systems_read_registries() {
        assert_eq!(admits(&system("SO-Y-TE"), Action::ReadRegistry), Ok(()));
        let enterprise =
            Principal::EnterpriseSystem(crate::TaxCode::parse("0100109106").expect("valid"));
        assert_eq!(admits(&enterprise, Action::ReadRegistry), Ok(()));
        assert_eq!(enterprise.actor(), "enterprise:0100109106");
        for action in [
            Action::ManageEnterpriseAccess,
            Action::SearchRegistry,
            Action::ReadOwnData,
            Action::ReadAuditLog,
        ] {
            assert_eq!(admits(&enterprise, action), Err(Denial::Forbidden));
        }
        assert_eq!(
            admits(
                &staff(Role::CityAdmin, None, None),
                Action::ManageEnterpriseAccess
            ),
            Ok(())
        );
        assert_eq!(
            admits(
                &staff(Role::AgencyAdmin, Some("SO-Y-TE"), None),
                Action::ManageEnterpriseAccess
            ),
            Err(Denial::Forbidden)
        );
        for who in [
            citizen("079185001234"),
            staff(Role::CityAdmin, None, None),
            staff(Role::Officer, Some("SO-Y-TE"), None),
            Principal::Bootstrap,
        ] {
            assert_eq!(
                admits(&who, Action::ReadRegistry),
                Err(Denial::Forbidden),
                "{who:?}"
            );
        }
        assert_eq!(
            admits(&system("SO-Y-TE"), Action::UseSession),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
