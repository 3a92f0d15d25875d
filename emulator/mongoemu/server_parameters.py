"""Which ``--setParameter`` names mongod 7.0 (Community, Linux) registers, and when each may be set.

mongod checks a startup parameter twice (issue 16, "Bad input"):

* validateBaseOptions (server_options_helpers.cpp), in the validation step of the startup
  options: a name no ServerParameter is registered under fails with
  "Unknown --setParameter '<name>'" and a test-only parameter without enableTestCommands with
  "--setParameter '<name>' only available when used with 'enableTestCommands'" (BadValue; the
  global initializer fails, mongod logs "Error during global initialization" and exits 1);
* applySetParameterOptions (storeBaseOptions): a parameter whose ``set_at`` lacks ``startup``
  fails with "Cannot use --setParameter to set \"<name>\" at startup" (BadValue, printed with
  mongod's try-help line, exit 2).

The names come from the ``server_parameters`` sections of mongod's IDL files (``set_at``
startup, runtime, or both; ``readonly`` ones cannot be set at all). mongod registers several
hundred; this table holds the ones test suites and deployment tools set, plus every one that
mongoemu reads. A parameter missing here that mongod knows is a mongoemu bug: add it.
"""
from __future__ import annotations

STARTUP = "startup"
RUNTIME = "runtime"
BOTH = "both"
READONLY = "readonly"

# name -> when it may be set (IDL set_at)
PARAMETERS: dict[str, str] = {
    # auth (auth/*.idl, sasl_options.idl, enable_localhost_auth_bypass_parameter.idl)
    "authenticationMechanisms": STARTUP, "enableLocalhostAuthBypass": STARTUP,
    "scramIterationCount": BOTH, "scramSHA256IterationCount": BOTH,
    "authFailedDelayMs": BOTH, "allowRolesFromX509Certificates": STARTUP,
    "enforceUserClusterSeparation": STARTUP, "saslauthdPath": STARTUP,
    "saslHostName": STARTUP, "saslServiceName": STARTUP, "userCacheInvalidationIntervalSecs": BOTH,
    "authorizationManagerCacheSize": BOTH, "startupAuthSchemaValidation": STARTUP,
    "maxValidateMemoryUsageMB": BOTH, "KeysRotationIntervalSec": STARTUP,
    "clusterAuthMode": RUNTIME, "tlsMode": RUNTIME, "sslMode": RUNTIME,
    "suppressNoTLSPeerCertificateWarning": STARTUP, "tlsWithholdClientCertificate": STARTUP,
    "tlsX509ClusterAuthDNOverride": BOTH, "tlsX509ExpirationWarningThresholdDays": STARTUP,
    "tlsUseSystemCA": STARTUP, "opensslCipherConfig": STARTUP, "opensslCipherSuiteConfig": STARTUP,
    "opensslDiffieHellmanParameters": STARTUP, "ocspEnabled": STARTUP,
    "ocspValidationRefreshPeriodSecs": STARTUP, "ocspStaplingRefreshPeriodSecs": STARTUP,
    "tlsOCSPVerifyTimeoutSecs": STARTUP, "tlsOCSPStaplingTimeoutSecs": STARTUP,
    "sslWithholdClientCertificate": STARTUP,
    # general and logging (server_options, logv2)
    "enableTestCommands": STARTUP, "testingDiagnosticsEnabled": STARTUP, "logLevel": BOTH,
    "logComponentVerbosity": BOTH, "quiet": BOTH, "traceExceptions": BOTH,
    "redactClientLogData": BOTH, "redactEncryptedFields": BOTH, "maxLogSizeKB": BOTH,
    "honorSystemUmask": STARTUP, "processUmask": STARTUP, "disabledSecureAllocatorDomains": STARTUP,
    "diagnosticDataCollectionEnabled": BOTH, "diagnosticDataCollectionDirectoryPath": BOTH,
    "diagnosticDataCollectionDirectorySizeMB": BOTH, "diagnosticDataCollectionFileSizeMB": BOTH,
    "diagnosticDataCollectionPeriodMillis": BOTH, "diagnosticDataCollectionSamplesPerChunk": BOTH,
    "diagnosticDataCollectionSamplesPerInterimUpdate": BOTH, "heapProfilingEnabled": STARTUP,
    "heapProfilingSampleIntervalBytes": STARTUP, "tcmallocReleaseRate": BOTH,
    "tcmallocAggressiveMemoryDecommit": BOTH, "tcmallocMaxTotalThreadCacheBytes": BOTH,
    "connPoolMaxConnsPerHost": STARTUP, "connPoolMaxInUseConnsPerHost": STARTUP,
    "globalConnPoolIdleTimeoutMinutes": STARTUP, "maxNumActiveUserIndexBuilds": BOTH,
    "watchdogPeriodSeconds": STARTUP, "slowConnectionThresholdMillis": BOTH,
    "enableDetailedConnectionHealthMetricLogLines": BOTH, "ingressAdmissionControllerTicketPoolSize": BOTH,
    "taskExecutorPoolSize": STARTUP, "notablescan": BOTH, "ttlMonitorEnabled": BOTH,
    "ttlMonitorSleepSecs": STARTUP, "cursorTimeoutMillis": BOTH, "maxSessions": STARTUP,
    "localLogicalSessionTimeoutMinutes": STARTUP, "logicalSessionRefreshMillis": STARTUP,
    "disableLogicalSessionCacheRefresh": STARTUP, "transactionLifetimeLimitSeconds": BOTH,
    "maxTransactionLockRequestTimeoutMillis": BOTH, "transactionSizeLimitBytes": BOTH,
    "coordinateCommitReturnImmediatelyAfterPersistingDecision": BOTH,
    "featureCompatibilityVersion": READONLY, "internalQueryExecMaxBlockingSortBytes": BOTH,
    "internalQueryMaxBlockingSortMemoryUsageBytes": BOTH, "internalQueryPlannerMaxIndexedSolutions": BOTH,
    "internalQueryFrameworkControl": BOTH, "internalQueryEnableSlotBasedExecutionEngine": BOTH,
    "internalDocumentSourceGroupMaxMemoryBytes": BOTH, "allowDiskUseByDefault": BOTH,
    "maxIndexBuildMemoryUsageMegabytes": BOTH, "indexBuildMinAvailableDiskSpaceMB": BOTH,
    "internalValidateFeaturesAsPrimary": STARTUP, "enableFlowControl": BOTH,
    "flowControlTargetLagSeconds": BOTH, "syncdelay": BOTH, "journalCommitInterval": BOTH,
    "storageEngineConcurrentReadTransactions": BOTH, "storageEngineConcurrentWriteTransactions": BOTH,
    "wiredTigerConcurrentReadTransactions": BOTH, "wiredTigerConcurrentWriteTransactions": BOTH,
    "wiredTigerEngineRuntimeConfig": RUNTIME, "wiredTigerSessionCloseIdleTimeSecs": BOTH,
    "wiredTigerCursorCacheSize": BOTH, "wiredTigerSessionMax": STARTUP,
    "wiredTigerFileHandleCloseIdleTime": STARTUP, "wiredTigerDirectoryForIndexes": READONLY,
    "minSnapshotHistoryWindowInSeconds": BOTH, "mirrorReads": BOTH, "auditAuthorizationSuccess": BOTH,
    "cloudFreeMonitoringEndpointURL": STARTUP, "disableJavaScriptJIT": BOTH,
    "javascriptProtection": STARTUP, "internalQueryJavaScriptHeapSizeLimitMB": BOTH,
    "failIndexKeyTooLong": BOTH, "skipShardingConfigurationChecks": STARTUP,
    "shardedIndexConsistencyCheckIntervalMS": STARTUP, "enableShardedIndexConsistencyCheck": BOTH,
    "orphanCleanupDelaySecs": BOTH, "balancerMigrationsThrottlingMs": BOTH,
    "ShardingTaskExecutorPoolMinSize": BOTH, "ShardingTaskExecutorPoolMaxSize": BOTH,
    "ShardingTaskExecutorPoolHostTimeoutMS": BOTH, "ShardingTaskExecutorPoolRefreshTimeoutMS": BOTH,
    "ShardingTaskExecutorPoolReplicaSetMatching": BOTH, "mongotHost": STARTUP,
    "searchIndexManagementHostAndPort": STARTUP, "skipAuthenticationToMongot": STARTUP,
    "opensslFIPSMode": RUNTIME,
    # replication (repl/*.idl)
    "replWriterThreadCount": STARTUP, "replWriterMinThreadCount": STARTUP,
    "replBatchLimitOperations": BOTH, "replBatchLimitBytes": BOTH, "initialSyncMethod": STARTUP,
    "initialSyncSourceReadPreference": STARTUP, "initialSyncTransientErrorRetryPeriodSeconds": BOTH,
    "numInitialSyncAttempts": BOTH, "oplogInitialFindMaxSeconds": BOTH,
    "oplogFetcherUsesExhaust": STARTUP, "oplogBatchDelayMillis": BOTH,
    "writePeriodicNoops": BOTH, "periodicNoopIntervalSecs": STARTUP,
    "enableElectionHandoff": BOTH, "waitForSecondaryBeforeNoopWriteMS": BOTH,
    "createRollbackDataFiles": BOTH, "rollbackTimeLimitSecs": BOTH,
    "enableReconfigRollbackCommittedWritesCheck": BOTH, "allowMultipleArbiters": STARTUP,
    "disableSplitHorizonIPCheck": STARTUP, "enableOverrideClusterChainingSetting": BOTH,
    "maxNumSyncSourceChangesPerHour": BOTH, "chainingAllowed": BOTH,
    "enableDefaultWriteConcernUpdatesForInitiate": BOTH, "newlyAddedRemovalTimeoutSecs": BOTH,
    "startupRecoveryForRestore": STARTUP, "takeUnstableCheckpointOnShutdown": STARTUP,
    "recoverFromOplogAsStandalone": STARTUP, "recoverToOplogTimestamp": STARTUP,
    "internalQueryCacheMaxEntriesPerCollection": BOTH, "maxOplogTruncationPointsDuringStartup": BOTH,
}

# The value type of the parameters mongoemu honours or reports (the IDL ``cpp_vartype``; a
# parameter missing here takes any value). mongod parses a value by it:
# * at startup, IDLServerParameterWithStorage::setFromString ->
#   idl_server_parameter_detail::coerceFromString (server_parameter_with_storage.h): a bool is
#   exactly "1", "0", "true" or "false" ("Value is not a valid boolean"), a number goes through
#   NumberParser; applySetParameterOptions reports 'Bad value for parameter "<name>": <reason>';
# * at runtime, set() -> parseElement: BSONElement::tryCoerce (bsonelement.h), a bool from any
#   value (trueValue), an integer from any number or a bool, a double from a number only;
#   refused as "Failed validating <name>: <reason>" (BadValue).
BOOL, INT, LONG, DOUBLE = "bool", "int", "long", "double"
TYPES: dict[str, str] = {
    "enableLocalhostAuthBypass": BOOL, "enableTestCommands": BOOL, "allowMultipleArbiters": BOOL,
    "enableElectionHandoff": BOOL, "disableSplitHorizonIPCheck": BOOL,
    "oplogFetcherUsesExhaust": BOOL, "heapProfilingEnabled": BOOL, "notablescan": BOOL,
    "ttlMonitorEnabled": BOOL, "enableFlowControl": BOOL, "diagnosticDataCollectionEnabled": BOOL,
    "enableReconfigRollbackCommittedWritesCheck": BOOL,
    "replWriterThreadCount": INT, "connPoolMaxConnsPerHost": INT,
    "transactionLifetimeLimitSeconds": INT, "maxTransactionLockRequestTimeoutMillis": INT,
    "cursorTimeoutMillis": LONG, "syncdelay": DOUBLE,
}


def is_known(name: str) -> bool:
    """A name a mongod 7.0 ServerParameter is registered under (failpoints register as
    ``failpoint.<name>`` only with enableTestCommands, featureFlag* as feature flags)."""
    return name in PARAMETERS or name.startswith("featureFlag")


def settable_at_startup(name: str) -> bool:
    return PARAMETERS.get(name, BOTH) in (STARTUP, BOTH)


def settable_at_runtime(name: str) -> bool:
    """ServerParameter::allowedToChangeAtRuntime: set_at includes runtime."""
    return PARAMETERS.get(name, BOTH) in (RUNTIME, BOTH)
