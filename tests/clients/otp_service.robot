*** Settings ***
Documentation       otp_client.robot.OTPService against a live otp-service: run by
...                 tests/clients/test_robot.py, which starts the service and sets the variables.
Library             otp_client.robot.OTPService    %{OTP_SERVICE_URL}    %{OTP_SERVICE_KEY}


*** Test Cases ***
Get OTP Returns The Code As A String
    ${code} =    Get OTP    github-bot
    Should Be True    isinstance($code, str)
    Should Match Regexp    ${code}    ^[0-9]{6}$

Get OTP With Min Validity Returns A Code
    ${code} =    Get OTP    github-bot    min_validity=5
    Should Match Regexp    ${code}    ^[0-9]{6}$

Verify OTP Accepts A Fresh Code Once
    ${code} =    Get OTP    quick
    ${valid} =    Verify OTP    quick    ${code}
    Should Be True    ${valid}
    ${replayed} =    Verify OTP    quick    ${code}
    Should Not Be True    ${replayed}

List Accounts Names Those The Key May Use
    ${accounts} =    List Accounts
    Should Be Equal    ${accounts}    ${{["default", "github-bot", "quick"]}}

An Unknown Account Fails With The Service's Message
    Run Keyword And Expect Error
    ...    otp-service answered 404: Account not found*    Get OTP    no-such-account
